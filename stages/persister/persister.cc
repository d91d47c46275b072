#include "stages/persister/persister.h"

#include <pthread.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "schema/event_messages.h"
#include "schema/retention.h"
#include "schema/json.h"
#include "schema/telemetry_messages.h"
#include "schema/topics.h"
#include "base/build_id.h"
#include "base/process.h"
#include "stages/persister/backups.h"

namespace nightshift::persister {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kHousekeepingInterval = std::chrono::seconds(2);
// While commits fail: how often the alive event and the alert repeat.
constexpr auto kStalledAliveInterval = std::chrono::seconds(1);
constexpr auto kStallAlertInterval = std::chrono::seconds(10);
constexpr const char* kStallMetric = "persister.commit";
// The longest either thread waits before it checks stop and housekeeping.
constexpr auto kMaxWait = std::chrono::milliseconds(100);
// On stop, how long intake waits for a busy writer to take its last batch.
constexpr auto kStopWait = std::chrono::seconds(5);

// What the event log keeps: the job events workers publish, but not our own
// job.persisted (the trials table says it; subscribing to all of "job."
// would bring each announcement back through the broker), and run, alert,
// telemetry and data events.
const std::vector<std::string> kEventPrefixes = {
    "job." + std::string(wire_text(JobStep::started)), "run.", "alert.", "telemetry.", "data."};

}  // namespace

Persister::Persister(const config::Config& config, PersisterTuning tuning, const std::string& run,
                     ResultsStore store,
                     std::unique_ptr<WalCheckpointer> checkpointer, bus::ResultsPipelineReceiver results,
                     bus::Subscriber events, bus::Publisher publisher)
    : config_(config),
      tuning_(tuning),
      run_(run),
      run_topic_(topics::segment(run)),
      results_(std::move(results)),
      events_(std::move(events)),
      store_(std::move(store)),
      checkpointer_(std::move(checkpointer)),
      guard_(store_, run),
      batch_(store_, &guard_),
      publisher_(std::move(publisher)) {
  batch_.set_fdr_q(config.promote_if.fdr_q);
  batch_.set_result_cache(ResultCachePolicy{
      config.cache.enabled, static_cast<int64_t>(config.cache.ttl_hours * 3600.0 * 1e9),
      config::gates_identity(config.promote_if), code_version()});
}

Result<std::unique_ptr<Persister>> Persister::start(zmq::context_t& context,
                                                    const config::Config& config,
                                                    PersisterTuning tuning,
                                                    const std::string& run) {
  auto store = ResultsStore::open_for_writing(config.storage.results_db);
  if (!store) return store.take_error();
  auto results = bus::ResultsPipelineReceiver::connect(context, config.bus);
  if (!results) return results.take_error();
  auto events = bus::Subscriber::connect(context, config.bus, kEventPrefixes);
  if (!events) return events.take_error();
  auto publisher = bus::Publisher::connect(context, config.bus, bus::self_source("persister"));
  if (!publisher) return publisher.take_error();
  // The writer's connection keeps its handle when the store moves, so the
  // checkpointer may hook into it now.
  auto checkpointer = WalCheckpointer::start(store->db());
  if (!checkpointer) {
    return make_error("results database " + config.storage.results_db + ": " +
                      checkpointer.error());
  }
  return std::unique_ptr<Persister>(new Persister(
      config, tuning, run, std::move(*store), std::move(*checkpointer), std::move(*results),
      std::move(*events), std::move(*publisher)));
}

// The run a job.<state>.<run> or run.<run>.* topic names, or "".
static std::string_view topic_run(std::string_view topic) {
  if (topic.rfind("job.", 0) == 0) {
    auto dot = topic.find('.', 4);
    return dot == std::string_view::npos ? std::string_view() : topic.substr(dot + 1);
  }
  if (topic.rfind("run.", 0) == 0) {
    auto dot = topic.find('.', 4);
    return topic.substr(4, dot == std::string_view::npos ? std::string_view::npos : dot - 4);
  }
  return {};
}

void Persister::take_event(bus::Envelope envelope) {
  // Our own job.persisted announcements: the trials table already says it.
  // (Our alerts are kept like any other.)
  if (envelope.frame.header.src.stage == "persister" && envelope.topic.rfind("job.", 0) == 0) {
    return;
  }
  // A persister serving one run keeps no job or run events of another (a
  // worker fed a forged job would otherwise log its job.started here).
  std::string_view run = topic_run(envelope.topic);
  if (!run_.empty() && !run.empty() && run != run_topic_) {
    refuse(Refusal{"event " + envelope.topic.substr(0, 160), envelope.frame.header.src.stage,
                   "not this persister's run " + run_},
           intake_refusal_log_);
    return;
  }
  EventRecord record;
  record.type = envelope.frame.header.type;
  record.ts_ns = envelope.frame.header.ts_ns;
  bool tabled = envelope.topic.rfind("alert.", 0) == 0 ||
                envelope.topic.rfind("telemetry.", 0) == 0;
  // dump_json: a payload with invalid UTF-8 must not throw out of the intake loop.
  if (tabled) record.json = dump_json(frame_to_json(envelope.topic, envelope.frame));
  record.topic = std::move(envelope.topic);
  record.body = std::move(envelope.body);
  intake_.add(std::move(record));
}

// The content checks run here, while the result's maps are whole (the batch
// releases them once their JSON is rendered).
void Persister::take_result(JobResult result) {
  if (auto why = content_problem(result, config_.storage.artifacts_dir); !why.empty()) {
    refuse(Refusal{"result " + job_key_text(result.key) + " attempt " +
                       std::to_string(result.attempt),
                   result.worker, std::move(why)},
           intake_refusal_log_);
    return;
  }
  intake_.add(std::move(result));
}

void Persister::refuse(const Refusal& refusal, RateLimitedLog& log) {
  ++refused_;
  // The worker name is a claim like the rest: cut short, control bytes masked.
  std::string source = refusal.source.substr(0, 80);
  for (char& c : source) {
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  log.warn("refused " + refusal.what + " from '" + source + "': " + refusal.reason +
           " (" + std::to_string(refused_.load()) + " refused so far)");
}

// Takes what is ready, then waits for more until the batch is due or
// `max_wait` has passed.
void Persister::collect(std::chrono::milliseconds max_wait) {
  const auto until = Clock::now() + max_wait;
  while (true) {
    drain();
    const auto now = Clock::now();
    if (intake_.due(tuning_.commit, now)) return;
    auto deadline = intake_.empty() ? until : std::min(until, intake_.commit_by(tuning_.commit));
    if (now >= deadline || !wait_for_input(deadline)) return;
  }
}

// Non-blocking receives from both sockets in turn until neither has a message
// or the batch is full. No poll() per message: only a socket found empty costs
// a system call (ZeroMQ checks its mailbox), so each is dropped once empty.
void Persister::drain() {
  bool results_ready = true;
  bool events_ready = true;
  while ((results_ready || events_ready) && intake_.size() < tuning_.commit.max_messages) {
    if (results_ready) {
      auto item = results_.receive(std::chrono::milliseconds(0));
      results_ready = item.has_value();
      if (item) {
        if (auto* result = std::get_if<JobResult>(&*item)) {
          take_result(std::move(*result));
        } else {
          intake_.add(std::move(std::get<RunCheckpoint>(*item)));
        }
      }
    }
    if (events_ready) {
      auto event = events_.receive(std::chrono::milliseconds(0));
      events_ready = event.has_value();
      if (event) take_event(std::move(*event));
    }
  }
}

// Sleeps until either socket has a message (true) or `until` (false).
bool Persister::wait_for_input(Clock::time_point until) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
  zmq::pollitem_t items[] = {{results_.socket().handle(), 0, ZMQ_POLLIN, 0},
                             {events_.socket().handle(), 0, ZMQ_POLLIN, 0}};
  try {
    return zmq::poll(items, 2, std::max(left, std::chrono::milliseconds(0))) > 0;
  } catch (const zmq::error_t&) {
    return false;  // interrupted by a stop signal
  }
}

// Gives the intake batch to the writer once its slot is free (it holds one
// batch besides the one it is committing). False if the slot stayed taken for
// `max_wait`; intake keeps its batch and stops pulling meanwhile, so a writer
// that cannot commit holds back the whole pipeline, not just itself.
//
// The batch the writer committed last comes back the other way: intake frees
// its messages (the thread that allocated them, which the allocator prefers,
// and one less job for the busier writer) and reuses its memory.
bool Persister::hand_over(std::chrono::milliseconds max_wait) {
  std::unique_lock lock(mutex_);
  if (!taken_cv_.wait_for(lock, max_wait, [&] { return handed_.empty(); })) return false;
  std::swap(handed_, intake_);
  std::swap(intake_, spent_);
  lock.unlock();
  handed_cv_.notify_one();
  intake_.clear();
  return true;
}

// The writer: takes each handed batch once its own is committed, commits,
// announces; retries a failed commit every retry_interval. Once intake has
// closed it takes what is left, tries one last commit and returns.
void Persister::write_batches() {
  pthread_setname_np(pthread_self(), "persister-db");  // for top -H, perf, gdb
  bool closing = false;
  while (!closing) {
    {
      std::unique_lock lock(mutex_);
      auto wake = stalled_ ? next_retry_ : Clock::now() + kMaxWait;
      handed_cv_.wait_until(lock, wake,
                            [&] { return closing_ || (!handed_.empty() && batch_.empty()); });
      closing = closing_;
      if (!handed_.empty() && (batch_.empty() || closing)) {
        batch_.add(std::move(handed_));
        handed_ = Batch();
        taken_cv_.notify_one();
      }
    }
    if (!batch_.empty() && (!stalled_ || closing || Clock::now() >= next_retry_)) flush();
    housekeeping();
  }
  if (!batch_.empty()) spdlog::error("exiting with {} uncommitted messages", batch_.size());
}

// Commit before announcing: a job.persisted that went out for a row that then
// rolled back would make the scheduler forget a job whose result is lost.
bool Persister::flush() {
  if (batch_.empty()) return true;
  auto outcome = batch_.commit(now_ns());
  if (!outcome) {
    ++stats_.commit_failures;
    const std::size_t waiting = results_held();
    stall_problem_ =
        outcome.error_kind() == ErrorKind::disk_full
            ? fmt::format("persister cannot commit: disk full ({} results waiting)", waiting)
            : fmt::format("persister cannot commit: {} ({} results waiting)", outcome.error(),
                          waiting);
    if (!stalled_) {
      spdlog::error("results database {}: commit failed, holding {} messages and pausing "
                    "intake until it succeeds: {}",
                    config_.storage.results_db, batch_.size(), outcome.error());
    } else {
      io_error_log_.warn("results database still failing: " + outcome.error());
    }
    const bool began = !stalled_;
    stalled_ = true;
    if (began || Clock::now() >= next_stall_alert_) publish_stall(true);
    if (began) next_housekeeping_ = Clock::now();  // the alive event says it at once
    next_retry_ = Clock::now() + tuning_.retry_interval;
    return false;
  }
  if (stalled_) {
    spdlog::warn("results database writable again; intake resumed");
    stalled_ = false;
    publish_stall(false);
    stall_problem_.clear();
    next_housekeeping_ = Clock::now();
  }
  ++stats_.commits;
  announce(*outcome);
  std::lock_guard lock(mutex_);
  if (spent_.empty()) spent_ = std::move(outcome->committed);  // back to intake
  return true;
}

void Persister::announce(CommitOutcome& outcome) {
  stats_.results += outcome.results;
  stats_.new_rows += outcome.new_rows;
  stats_.duplicates += outcome.duplicates;
  stats_.checkpoints += outcome.checkpoints;
  stats_.events += outcome.events;
  stats_.refused += outcome.refused.size();
  for (const Refusal& refusal : outcome.refused) refuse(refusal, refusal_log_);
  // One job.persisted.<run> message per run (a batch holds one, as a rule)
  // and at most JobsPersisted::kMaxJobs results, after the COMMIT.
  JobsPersisted announcement;
  auto send = [&] {
    if (announcement.jobs.empty()) return;
    publisher_.publish(topics::job("persisted", announcement.run), announcement);
    announcement.jobs.clear();
  };
  for (auto& item : outcome.committed.items()) {
    auto* received = std::get_if<ReceivedResult>(&item);
    if (received == nullptr || received->refused) continue;
    JobResult& r = received->result;
    if (r.key.run != announcement.run || announcement.jobs.size() >= JobsPersisted::kMaxJobs) {
      send();
      announcement.run = r.key.run;
    }
    PersistedResult& event = announcement.jobs.emplace_back();
    event.status = r.status;
    event.attempt = r.attempt;
    event.key = std::move(r.key);
    event.reason = std::move(r.reason);
    event.worker = std::move(r.worker);
  }
  send();
}

// Results the writer holds uncommitted: its batch and the one handed to it.
std::size_t Persister::results_held() {
  auto count = [](const Batch& batch) {
    return static_cast<std::size_t>(
        std::count_if(batch.items().begin(), batch.items().end(),
                      [](const Pending& p) { return std::holds_alternative<ReceivedResult>(p); }));
  };
  std::lock_guard lock(mutex_);
  return count(batch_.pending()) + count(handed_);
}

void Persister::publish_stall(bool firing) {
  next_stall_alert_ = Clock::now() + kStallAlertInterval;
  Alert alert;
  alert.level = "critical";
  alert.state = firing ? "firing" : "resolved";
  alert.host = host_name();
  alert.metric = kStallMetric;
  alert.value = static_cast<double>(results_held());
  alert.message = firing ? stall_problem_ : "persister commits again";
  publisher_.publish(topics::alert(alert.level, alert.host, alert.metric), alert);
}

void Persister::housekeeping() {
  auto now = Clock::now();
  if (now < next_housekeeping_) return;
  next_housekeeping_ = now + (stalled_ ? kStalledAliveInterval : kHousekeepingInterval);
  Event alive;
  alive.name = "alive";
  alive.attrs = {{"stage", "persister"},
                 {"results", std::to_string(stats_.results)},
                 {"refused", std::to_string(refused_.load())},
                 {"stalled", stalled_ ? "true" : "false"}};
  if (stalled_) alive.attrs["problem"] = stall_problem_;
  publisher_.publish("stage." + topics::segment(host_name()) + ".persister", alive);
  if (stalled_) return;
  // Retention a little at a time, between commits on this thread: batches
  // of at most ~20 ms, 50 ms per round (schema/retention.h), so a backlog of
  // old rows never delays a commit by more than that.
  PruneLimits limits;
  limits.max_batch = std::chrono::milliseconds(20);
  limits.budget = std::chrono::milliseconds(50);
  limits.checkpoint_between_batches = false;  // the WalCheckpointer's job
  limits.yield_between_batches = false;       // we are the writer it would yield to
  for (const auto& rule : retention_rules(config_.storage.telemetry_retention_days,
                                          config_.storage.events_retention_days, now_ns())) {
    if (auto pruned = prune(store_.db(), rule, limits); !pruned) {
      io_error_log_.warn("pruning " + rule.table + ": " + pruned.error());
    }
  }
  clean_result_cache();
}

// Expired entries and those beyond cache.max_entries, a bounded number per
// round in one short transaction between commits, like retention.
void Persister::clean_result_cache() {
  constexpr int kMaxRowsPerRound = 2000;
  auto tx = sql::Transaction::begin(store_.db());
  if (!tx) {
    io_error_log_.warn("cleaning the result cache: " + tx.error());
    return;
  }
  auto cleaned = store_.clean_cache(now_ns(), config_.cache.max_entries, run_, kMaxRowsPerRound);
  if (!cleaned || !tx->commit()) {
    io_error_log_.warn("cleaning the result cache: " + (cleaned ? std::string("commit failed") : cleaned.error()));
    return;
  }
  if (cleaned->expired == 0 && cleaned->evicted == 0) return;
  spdlog::info("result cache: deleted {} expired and {} evicted entries", cleaned->expired, cleaned->evicted);
  Event event;
  event.name = "cache.cleaned";
  event.attrs = {{"run", run_},
                 {"expired", std::to_string(cleaned->expired)},
                 {"evicted", std::to_string(cleaned->evicted)}};
  publisher_.publish("cache." + (run_.empty() ? std::string("none") : run_topic_) + ".cleaned", event);
}

void Persister::run(const std::function<bool()>& stop) {
  // Periodic online backups, on their own thread and connection.
  BackupTimer backups(config_, run_.empty() ? "persister" : run_);
  std::thread writer([this] { write_batches(); });
  while (!stop()) {
    collect(kMaxWait);
    if (intake_.due(tuning_.commit, Clock::now())) hand_over(kMaxWait);
  }
  // Take what already arrived, unless the writer is failing anyway; then let
  // the writer commit everything it was given and finish.
  if (!stalled_) collect(std::chrono::milliseconds(0));
  if (!intake_.empty() && (stalled_ || !hand_over(kStopWait))) {
    spdlog::error("exiting with {} uncommitted messages", intake_.size());
  }
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  handed_cv_.notify_one();
  writer.join();
}

}  // namespace nightshift::persister
