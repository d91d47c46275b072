#include "stages/persister/persister.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "schema/event_messages.h"
#include "schema/json.h"
#include "schema/topics.h"
#include "stages/common/process.h"

namespace nightshift::persister {
namespace {

constexpr auto kHousekeepingInterval = std::chrono::seconds(2);
constexpr int64_t kNsPerDay = 86'400LL * 1'000'000'000LL;

DecodeLimits limits_of(const config::BusConfig& bus) {
  DecodeLimits limits;
  limits.max_frame_bytes = static_cast<std::size_t>(bus.max_message_bytes);
  return limits;
}

}  // namespace

Persister::Persister(const config::Config& config, PersisterTuning tuning, ResultsStore store,
                     bus::ResultReceiver results, bus::Subscriber events,
                     bus::Publisher publisher)
    : config_(config),
      tuning_(tuning),
      store_(std::move(store)),
      batch_(store_),
      results_(std::move(results)),
      events_(std::move(events)),
      publisher_(std::move(publisher)) {}

Result<std::unique_ptr<Persister>> Persister::start(zmq::context_t& context,
                                                    const config::Config& config,
                                                    PersisterTuning tuning) {
  auto store = ResultsStore::open_for_writing(config.storage.results_db);
  if (!store) return Error{store.error()};
  auto results = bus::ResultReceiver::connect(context, config.bus);
  if (!results) return Error{results.error()};
  auto events = bus::Subscriber::connect(context, config.bus,
                                         {"job.", "run.", "alert.", "telemetry.", "data."});
  if (!events) return Error{events.error()};
  auto publisher = bus::Publisher::connect(context, config.bus, bus::self_source("persister"));
  if (!publisher) return Error{publisher.error()};
  return std::unique_ptr<Persister>(new Persister(config, tuning, std::move(*store),
                                                  std::move(*results), std::move(*events),
                                                  std::move(*publisher)));
}

void Persister::take_result_frame(const bus::RawFrame& raw) {
  auto frame = decode_frame(raw.body, limits_of(config_.bus));
  if (!frame) {
    bad_input_log_.warn("dropped result frame: " + frame.error());
    return;
  }
  if (frame->header.type == JobResult::kType) {
    auto result = decode_payload<JobResult>(*frame);
    if (result) return batch_.add(std::move(*result));
    bad_input_log_.warn("dropped result: " + result.error());
  } else if (frame->header.type == RunCheckpoint::kType) {
    auto checkpoint = decode_payload<RunCheckpoint>(*frame);
    if (checkpoint) return batch_.add(std::move(*checkpoint));
    bad_input_log_.warn("dropped checkpoint: " + checkpoint.error());
  } else {
    bad_input_log_.warn("dropped '" + frame->header.type + "' on the results pipeline");
  }
}

void Persister::take_event(bus::Envelope envelope) {
  // Our own job.persisted announcements: the trials table already says it.
  if (envelope.frame.header.src.stage == "persister") return;
  EventRecord record;
  record.type = envelope.frame.header.type;
  record.ts_ns = envelope.frame.header.ts_ns;
  bool tabled = envelope.topic.rfind("alert.", 0) == 0 ||
                envelope.topic.rfind("telemetry.", 0) == 0;
  if (tabled) record.json = frame_to_json(envelope.topic, envelope.frame).dump();
  record.topic = std::move(envelope.topic);
  record.body = std::move(envelope.body);
  batch_.add(std::move(record));
}

// Takes what is ready now (waiting at most `wait` for the first message),
// up to one batch.
void Persister::collect(std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (batch_.size() < tuning_.max_batch) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    zmq::pollitem_t items[] = {{results_.socket().handle(), 0, ZMQ_POLLIN, 0},
                               {events_.socket().handle(), 0, ZMQ_POLLIN, 0}};
    try {
      if (zmq::poll(items, 2, left) == 0) return;
    } catch (const zmq::error_t&) {
      return;  // interrupted by a stop signal
    }
    if (items[0].revents & ZMQ_POLLIN) {
      auto raw = bus::receive_raw(results_.socket(), std::chrono::milliseconds(0));
      if (raw && raw->parts_ok) take_result_frame(raw->frame);
      if (raw && !raw->parts_ok) bad_input_log_.warn("dropped result: expected 2 frames");
    }
    if (items[1].revents & ZMQ_POLLIN) {
      auto event = events_.receive(std::chrono::milliseconds(0));
      if (event) take_event(std::move(*event));
    }
  }
}

// Commit before announcing: a job.persisted that went out for a row that then
// rolled back would make the scheduler forget a job whose result is lost.
bool Persister::flush() {
  if (batch_.empty()) return true;
  auto outcome = batch_.commit(now_ns());
  if (!outcome) {
    ++stats_.commit_failures;
    if (!stalled_) {
      spdlog::error("results database {}: commit failed, holding {} messages and pausing "
                    "intake until it succeeds: {}",
                    config_.storage.results_db, batch_.size(), outcome.error());
    } else {
      io_error_log_.warn("results database still failing: " + outcome.error());
    }
    stalled_ = true;
    next_retry_ = std::chrono::steady_clock::now() + tuning_.retry_interval;
    return false;
  }
  if (stalled_) spdlog::warn("results database writable again; intake resumed");
  stalled_ = false;
  ++stats_.commits;
  announce(*outcome);
  return true;
}

void Persister::announce(const CommitOutcome& outcome) {
  stats_.results += outcome.results.size();
  stats_.new_rows += outcome.new_rows;
  stats_.duplicates += outcome.duplicates;
  stats_.checkpoints += outcome.checkpoints;
  stats_.events += outcome.events;
  for (const auto& r : outcome.results) {
    JobEvent event;
    event.key = r.key;
    event.state = r.status == "ok" ? "persisted" : "failed";
    event.attempt = r.attempt;
    event.reason = r.reason;
    event.worker = r.worker;
    publisher_.publish(topics::job("persisted", r.key.run), event);
  }
}

void Persister::housekeeping() {
  auto now = std::chrono::steady_clock::now();
  if (now < next_housekeeping_) return;
  next_housekeeping_ = now + kHousekeepingInterval;
  Event alive;
  alive.name = "alive";
  alive.attrs = {{"stage", "persister"},
                 {"results", std::to_string(stats_.results)},
                 {"stalled", stalled_ ? "true" : "false"}};
  publisher_.publish("stage." + topics::segment(host_name()) + ".persister", alive);
  if (stalled_ || config_.storage.telemetry_retention_days <= 0) return;
  int64_t cutoff = now_ns() - config_.storage.telemetry_retention_days * kNsPerDay;
  if (auto st = store_.prune_telemetry(cutoff); !st) {
    io_error_log_.warn("pruning telemetry history: " + st.error());
  }
}

void Persister::run(const std::function<bool()>& stop) {
  while (!stop()) {
    if (stalled_) {
      // Intake paused: the broker keeps queueing; retry the held batch.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (std::chrono::steady_clock::now() >= next_retry_) flush();
      continue;
    }
    collect(tuning_.max_batch_delay);
    flush();
    housekeeping();
  }
  // Drain what already arrived, then a last commit.
  if (!stalled_) collect(std::chrono::milliseconds(0));
  if (!flush()) spdlog::error("exiting with {} uncommitted messages", batch_.size());
}

}  // namespace nightshift::persister
