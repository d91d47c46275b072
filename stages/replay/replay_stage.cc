#include "stages/replay/replay_stage.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <optional>
#include <thread>

#include "base/process.h"
#include "broker/bus.h"
#include "broker/control_client.h"
#include "schema/codec.h"
#include "schema/event_log.h"
#include "schema/event_messages.h"
#include "schema/results_store.h"
#include "schema/topics.h"
#include "stages/replay/replay_clock.h"
#include "stages/replay/replay_control.h"
#include "stages/replay/replay_time.h"

namespace nightshift::replay {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kProgressInterval = std::chrono::seconds(1);
constexpr auto kMaxWait = std::chrono::milliseconds(100);
constexpr auto kPublishWait = std::chrono::milliseconds(1000);
// At max speed the control endpoint and keys are looked at every so many events.
constexpr uint64_t kCommandCheckEvery = 256;

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

bool wanted(const std::vector<std::string>& prefixes, std::string_view topic) {
  if (prefixes.empty()) return true;
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return topic.rfind(p, 0) == 0; });
}

// What the replay reads: the run's range and how many events it holds.
struct Range {
  TimeSpan span;
  int64_t first_ts_ns = 0;  // the run's first stored event (offsets count from it)
  int64_t total = 0;        // events in span that pass the topic filter
};

Result<Range> find_range(sql::Database& db, const ReplayOptions& options) {
  auto span = run_span(db, options.run);
  if (!span) return span.take_error();
  if (!*span) {
    return make_error(ErrorKind::not_found, "no run '" + options.run + "' in " + db.path());
  }
  auto cursor = EventCursor::open(db, **span);
  if (!cursor) return cursor.take_error();
  auto first = cursor->first_ts();
  if (!first) return first.take_error();
  if (!*first) return make_error(ErrorKind::not_found, "run '" + options.run + "' has no stored events");
  Range range{**span, **first, 0};
  if (!options.from.empty()) {
    auto from = resolve_time(options.from, range.first_ts_ns);
    if (!from) return make_error(ErrorKind::invalid_input, "--from: " + from.error());
    range.span.from_ns = std::max(range.span.from_ns, *from);
  }
  if (!options.to.empty()) {
    auto to = resolve_time(options.to, range.first_ts_ns);
    if (!to) return make_error(ErrorKind::invalid_input, "--to: " + to.error());
    range.span.to_ns = std::min(range.span.to_ns, *to);
  }
  auto in_range = EventCursor::open(db, range.span);
  if (!in_range) return in_range.take_error();
  if (options.topics.empty()) {
    auto n = in_range->count();
    if (!n) return n.take_error();
    range.total = *n;
  } else {
    while (true) {  // one pass, constant memory
      auto event = in_range->next();
      if (!event) return event.take_error();
      if (*event == nullptr) break;
      range.total += wanted(options.topics, (*event)->topic);
    }
  }
  if (range.total == 0) {
    return make_error(ErrorKind::not_found,
                      "run '" + options.run + "' has no stored events in the range asked for" +
                          (options.topics.empty() ? "" : " with those topics"));
  }
  return range;
}

// One replay: the cursor, the clock, the sockets and the counters.
class Replay {
 public:
  Replay(const ReplayOptions& options, Range range, EventCursor cursor, bus::Publisher publisher,
         ControlEndpoint control, std::optional<TerminalKeys> keys)
      : options_(options),
        range_(range),
        cursor_(std::move(cursor)),
        publisher_(std::move(publisher)),
        control_(std::move(control)),
        keys_(std::move(keys)),
        clock_(range.span.from_ns, options.speed, mono_ns()),
        progress_topic_(progress_topic(options.run)) {
    position_ts_ = std::max(range_.span.from_ns, range_.first_ts_ns);
    clock_.jump(position_ts_, mono_ns());
  }

  Status run();

 private:
  Result<bool> load();
  void publish_loaded();
  void wait(int64_t wait_ns);
  void handle_commands();
  std::string apply(const ReplayCommand& command);
  void seek_to(int64_t ts_ns);
  std::string status_json(const std::string& state);
  void progress(bool final_line);

  const ReplayOptions& options_;
  Range range_;
  EventCursor cursor_;
  bus::Publisher publisher_;
  ControlEndpoint control_;
  std::optional<TerminalKeys> keys_;
  ReplayClock clock_;
  std::string progress_topic_;
  // The next event, ready to send.
  bool loaded_ = false;
  int64_t loaded_ts_ = 0;
  std::string topic_;
  std::string body_;
  ReplayPosition position_;
  int64_t position_ts_ = 0;  // the stored ts of the last event sent
  uint64_t sent_ = 0;
  uint64_t skipped_ = 0;  // stored bodies that were not message maps
  bool quit_ = false;
  Clock::time_point started_ = Clock::now();
  Clock::time_point next_progress_ = Clock::now() + kProgressInterval;
  uint64_t sent_at_last_progress_ = 0;
  Clock::time_point last_progress_ = Clock::now();
};

std::string Replay::status_json(const std::string& state) {
  nlohmann::json j{{"run", options_.run},
                   {"state", state},
                   {"position", format_offset(position_ts_ - range_.first_ts_ns)},
                   {"offset_ns", position_ts_ - range_.first_ts_ns},
                   {"sent", sent_},
                   {"total", range_.total},
                   {"speed", clock_.speed()}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Reads the next wanted event and prepares its message. False at the end.
Result<bool> Replay::load() {
  while (!loaded_) {
    auto event = cursor_.next();
    if (!event) return event.take_error();
    const StoredEvent* e = *event;
    if (e == nullptr) return false;
    if (!wanted(options_.topics, e->topic)) continue;
    position_.run = options_.run;
    position_.index = sent_;
    position_.total = static_cast<uint64_t>(range_.total);
    position_.offset_ns = e->ts_ns - range_.first_ts_ns;
    position_.row = e->id;
    if (!append_replay_position(e->body, position_, body_)) {
      ++skipped_;
      continue;
    }
    topic_.assign("replay.").append(e->topic);  // topics::replay(), without a new string
    loaded_ts_ = e->ts_ns;
    loaded_ = true;
  }
  return true;
}

void Replay::publish_loaded() {
  while (!publisher_.publish_raw(topic_, body_, kPublishWait)) {
    if (stop_requested()) return;  // no room for a second: the broker is gone or stalled
  }
  loaded_ = false;
  position_ts_ = loaded_ts_;
  ++sent_;
}

void Replay::wait(int64_t wait_ns) {
  // A long wait gives up the cursor's page, so no read transaction is held.
  if (wait_ns > 50'000'000) cursor_.release();
  auto most = std::chrono::duration_cast<std::chrono::nanoseconds>(kMaxWait).count();
  int64_t ns = std::min(wait_ns, most);
  if (ns < 1'000'000) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
    return;
  }
  zmq::pollitem_t items[2] = {{control_.socket().handle(), 0, ZMQ_POLLIN, 0},
                              {nullptr, 0, ZMQ_POLLIN, 0}};
  try {
    zmq::poll(items, keys_ ? 2 : 1, std::chrono::milliseconds(ns / 1'000'000));
  } catch (const zmq::error_t&) {
    // interrupted by a signal: the loop looks at stop_requested()
  }
}

void Replay::seek_to(int64_t ts_ns) {
  ts_ns = std::clamp(ts_ns, range_.span.from_ns, range_.span.to_ns);
  cursor_.seek(ts_ns);
  loaded_ = false;
  position_ts_ = ts_ns;
  clock_.jump(ts_ns, mono_ns());
}

std::string Replay::apply(const ReplayCommand& command) {
  using Kind = ReplayCommand::Kind;
  int64_t now = mono_ns();
  auto current = [&] { return clock_.max_speed() ? position_ts_ : clock_.virtual_ns(now); };
  auto set_speed = [&](double speed) {
    if (clock_.max_speed()) clock_.jump(position_ts_, now);
    clock_.set_speed(speed, now);
  };
  switch (command.kind) {
    case Kind::pause: clock_.pause(now); cursor_.release(); break;
    case Kind::resume: clock_.resume(now); break;
    case Kind::toggle: clock_.paused() ? clock_.resume(now) : clock_.pause(now); break;
    case Kind::seek: {
      auto ts = resolve_time(command.time, range_.first_ts_ns);
      if (!ts) return nlohmann::json{{"error", ts.error()}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      seek_to(*ts);
      break;
    }
    case Kind::skip: seek_to(current() + static_cast<int64_t>(command.value * 1e9)); break;
    case Kind::speed: set_speed(command.value); break;
    case Kind::faster: if (!clock_.max_speed()) set_speed(std::min(clock_.speed() * 2, 1e6)); break;
    case Kind::slower: if (!clock_.max_speed()) set_speed(clock_.speed() / 2); break;
    case Kind::status: break;
    case Kind::quit: quit_ = true; break;
  }
  return status_json(clock_.paused() ? "paused" : "playing");
}

void Replay::handle_commands() {
  while (auto request = control_.receive()) {
    auto command = parse_command(*request);
    // The request is untrusted bytes: invalid UTF-8 in the echoed text is replaced, never thrown.
    control_.answer(command ? apply(*command)
                            : nlohmann::json{{"error", command.error()}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  if (keys_) {
    for (const auto& command : keys_->read()) apply(command);
  }
}

void Replay::progress(bool final_line) {
  auto now = Clock::now();
  double window_s = std::chrono::duration<double>(now - last_progress_).count();
  double rate = window_s > 0 ? static_cast<double>(sent_ - sent_at_last_progress_) / window_s : 0;
  if (final_line) {
    double all_s = std::chrono::duration<double>(now - started_).count();
    rate = all_s > 0 ? static_cast<double>(sent_) / all_s : 0;
  }
  last_progress_ = now;
  sent_at_last_progress_ = sent_;
  next_progress_ = now + kProgressInterval;
  std::string state = final_line ? (quit_ || stop_requested() ? "stopped" : "done")
                                 : clock_.paused() ? "paused" : "playing";
  std::string speed = clock_.max_speed() ? "max" : fmt::format("{:g}x", clock_.speed());
  std::cerr << fmt::format("replay {}: {} {}  sent {}/{}  {:.0f} events/s  speed {}{}",
                           options_.run, state, format_offset(position_ts_ - range_.first_ts_ns),
                           sent_, range_.total, rate, speed, final_line || !isatty(2) ? "\n" : "\r")
            << std::flush;
  Event event;
  event.name = "replay.progress";
  event.attrs = {{"run", options_.run},
                 {"state", state},
                 {"offset_ns", std::to_string(position_ts_ - range_.first_ts_ns)},
                 {"sent", std::to_string(sent_)},
                 {"total", std::to_string(range_.total)},
                 {"events_per_s", fmt::format("{:.0f}", rate)},
                 {"speed", clock_.max_speed() ? "max" : fmt::format("{:g}", clock_.speed())}};
  publisher_.publish(progress_topic_, event);
}

Status Replay::run() {
  uint64_t since_check = 0;
  while (!stop_requested() && !quit_) {
    if (clock_.max_speed() && !clock_.paused() && ++since_check < kCommandCheckEvery) {
      // the hot path: no system call but the send
    } else {
      since_check = 0;
      handle_commands();
      if (Clock::now() >= next_progress_) progress(false);
      if (clock_.paused()) {
        wait(std::chrono::nanoseconds(kMaxWait).count());
        continue;
      }
    }
    auto more = load();
    if (!more) return more.take_error();
    if (!*more) {
      if (!options_.loop) break;
      seek_to(range_.span.from_ns);
      continue;
    }
    if (int64_t ns = clock_.wait_ns(loaded_ts_, mono_ns()); ns > 0) {
      wait(ns);
      since_check = kCommandCheckEvery;  // look at commands before going on
      continue;
    }
    publish_loaded();
  }
  progress(true);
  if (skipped_ > 0) spdlog::warn("{} stored events were not message bodies and were skipped", skipped_);
  return Status::success();
}

int fail(const std::string& message) {
  std::cerr << "nightshift replay: " << message << "\n";
  return 1;
}

}  // namespace

std::string progress_topic(const std::string& run) {
  return "replay." + topics::segment(run) + ".progress";
}

int run_replay_stage(const config::Config& config, const ReplayOptions& options) {
  auto store = ResultsStore::open_read_only(config.storage.results_db);
  if (!store) return fail(store.error());
  if (!store->has_schema()) return fail("no run '" + options.run + "' in " + config.storage.results_db);
  auto range = find_range(store->db(), options);
  if (!range) return fail(range.error());
  auto cursor = EventCursor::open(store->db(), range->span);
  if (!cursor) return fail(cursor.error());

  zmq::context_t context(1);
  if (auto up = bus::probe_broker(context, config.bus, bus::kStageBrokerWait); !up) {
    return fail(up.error());
  }
  auto control = ControlEndpoint::bind(context, config, options.run);
  if (!control) return fail("control endpoint: " + control.error());
  auto publisher = bus::Publisher::connect(context, config.bus, bus::self_source("replay"),
                                           bus::AtMark::wait);
  if (!publisher) return fail(publisher.error());
  spdlog::info("replaying run {}: {} events, control at {}", options.run, range->total,
               control_endpoint(config, options.run));
  std::this_thread::sleep_for(options.warmup);  // PUB drops until subscriptions arrive

  Replay replay(options, *range, std::move(*cursor), std::move(*publisher), std::move(*control),
                options.keys ? TerminalKeys::attach() : std::nullopt);
  if (auto st = replay.run(); !st) return fail(st.error());
  return 0;
}

}  // namespace nightshift::replay
