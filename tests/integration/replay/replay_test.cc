// nightshift replay and replay-ctl through the real binary: a stored night
// run comes back on the bus exactly (count, bodies, order) under replay.;
// --speed divides the stored gaps; pause, seek and resume steer it; replayed
// and live streams never mix; bad runs and ranges are one-line errors.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "broker/bus.h"
#include "schema/codec.h"
#include "schema/event_log.h"
#include "schema/event_messages.h"
#include "schema/json.h"
#include "schema/results_store.h"
#include "tests/integration/night/cli_run.h"
#include "tests/support/child_process.h"

namespace nightshift {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::run_cli;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kStart = 1'700'000'000'000'000'000;  // a fixed past instant

// A message as the test subscriber got it.
struct Heard {
  std::string topic;
  std::string body;
  nlohmann::json json;  // frame_to_json, with "replay" when replayed
  std::chrono::steady_clock::time_point at;
};

std::string extra_yaml(const std::string& more = "") {
  return "replay:\n  control: tcp://127.0.0.1:" + std::to_string(testing::free_port()) + "\n" + more;
}

// Writes run `run` into the results database through the store: a finished
// run row and `gaps_ms.size() + 1` events, the first at kStart, topics
// cycling through `topics`.
void write_run(const std::string& db, const std::string& run, const std::vector<int64_t>& gaps_ms,
               const std::vector<std::string>& topics) {
  auto store = ResultsStore::open_for_writing(db);
  ASSERT_TRUE(store) << store.error();
  auto tx = sql::Transaction::begin(store->db());
  ASSERT_TRUE(tx);
  int64_t ts = kStart;
  for (std::size_t i = 0; i <= gaps_ms.size(); ++i) {
    Header header;
    header.ts_ns = ts;
    header.src = Source{"stored-host", "telemetry", 4242};
    header.seq = i + 1;
    Event event;
    event.name = "sample";
    event.attrs = {{"i", std::to_string(i)}};
    std::string topic = topics[i % topics.size()];
    ASSERT_TRUE(store->put_event(topic, Event::kType, ts, encode(header, event)));
    if (i < gaps_ms.size()) ts += gaps_ms[i] * kMs;
  }
  RunCheckpoint checkpoint;
  checkpoint.run = run;
  checkpoint.status = RunStatus::completed;
  checkpoint.started_ns = kStart;
  ASSERT_TRUE(store->put_checkpoint(checkpoint, ts));
  ASSERT_TRUE(tx->commit());
}

class ReplayTest : public ::testing::Test {
 protected:
  void start_bus(const std::string& more_yaml = "") {
    bus_ = testing::make_test_bus(extra_yaml(more_yaml));
    broker_ = nightshift_child({"broker"});
    ASSERT_TRUE(broker_->wait_for_output("broker up", 5s)) << broker_->stderr_text();
  }

  std::unique_ptr<ChildProcess> nightshift_child(std::vector<std::string> args) {
    args.insert(args.begin(), {testing::nightshift_binary(), "--config", bus_.config_path});
    return std::make_unique<ChildProcess>(args);
  }

  testing::CliOutcome cli(std::vector<std::string> args, std::chrono::seconds limit = 20s) {
    args.insert(args.begin(), {"--config", bus_.config_path});
    return run_cli(args, limit);
  }

  bus::Subscriber subscribe(const std::vector<std::string>& prefixes) {
    auto sub = bus::Subscriber::connect(context_, bus_.config.bus, prefixes);
    EXPECT_TRUE(sub) << sub.error();
    return std::move(*sub);
  }

  // Receives until the replay's final progress event (state done) or `limit`.
  std::vector<Heard> collect(bus::Subscriber& sub, const std::string& run,
                             std::chrono::seconds limit) {
    std::vector<Heard> heard;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto e = sub.receive(100ms);
      if (!e) continue;
      auto json = frame_to_json(e->topic, e->frame);
      if (e->topic == "replay." + run + ".progress") {
        if (json["data"]["attrs"]["state"] == "done") break;
        continue;
      }
      heard.push_back({e->topic, e->body, json, std::chrono::steady_clock::now()});
    }
    return heard;
  }

  zmq::context_t context_{1};
  testing::TestBus bus_;
  std::unique_ptr<ChildProcess> broker_;
};

// What the database holds for `run`, in replay order.
struct Stored {
  int64_t id, ts_ns;
  std::string topic, body;
};
std::vector<Stored> stored_events(const std::string& db, const std::string& run) {
  std::vector<Stored> out;
  auto store = ResultsStore::open_read_only(db);
  EXPECT_TRUE(store) << store.error();
  auto span = run_span(store->db(), run);
  EXPECT_TRUE(span && *span);
  auto cursor = EventCursor::open(store->db(), **span, 7);  // small pages: paging is exercised
  EXPECT_TRUE(cursor);
  while (true) {
    auto e = cursor->next();
    EXPECT_TRUE(e) << e.error();
    if (!e || *e == nullptr) break;
    out.push_back({(*e)->id, (*e)->ts_ns, std::string((*e)->topic), std::string((*e)->body)});
  }
  return out;
}

TEST_F(ReplayTest, MaxSpeedDeliversExactlyTheStoredEventsOfANightRun) {
  // A small night run with live telemetry, so the log holds job, run,
  // telemetry and data events.
  start_bus(R"(
symbols: [BTCUSDT, ETHUSDT]
timeframes: [1h, 4h]
horizons: [1]
scheduler:
  lease_s: 3
  grace_s: 2
  trials_per_study: 4
telemetry:
  interval_ms: 50
)");
  broker_.reset();  // the run starts its own broker
  auto out = cli({"run", "--run-id", "night", "--workers", "1", "--worker-program",
                  NIGHT_TEST_WORKER},
                 90s);
  ASSERT_EQ(out.exit_code, 0) << out.describe();
  auto stored = stored_events(bus_.config.storage.results_db, "night");
  ASSERT_GT(stored.size(), 15u);
  auto has_prefix = [&](const std::string& p) {
    return std::any_of(stored.begin(), stored.end(),
                       [&](const Stored& s) { return s.topic.rfind(p, 0) == 0; });
  };
  EXPECT_TRUE(has_prefix("telemetry.") && has_prefix("run."));

  broker_ = nightshift_child({"broker"});
  ASSERT_TRUE(broker_->wait_for_output("broker up", 5s));
  auto sub = subscribe({"replay."});
  auto replay = nightshift_child({"replay", "night", "--max-speed"});
  auto heard = collect(sub, "night", 60s);
  ASSERT_EQ(replay->wait(10s), std::optional<int>(0)) << replay->stderr_text();

  ASSERT_EQ(heard.size(), stored.size());
  for (std::size_t i = 0; i < stored.size(); ++i) {
    ASSERT_EQ(heard[i].topic, "replay." + stored[i].topic) << i;
    ReplayPosition position{"night", i, stored.size(), stored[i].ts_ns - stored[0].ts_ns,
                            stored[i].id};
    std::string expected;
    ASSERT_TRUE(append_replay_position(stored[i].body, position, expected));
    // The stored body byte for byte, one map entry longer.
    ASSERT_EQ(heard[i].body, expected) << i;
    ASSERT_EQ(heard[i].json["replay"]["index"], i);
  }
  EXPECT_NE(replay->stderr_text().find("done"), std::string::npos) << replay->stderr_text();
}

TEST_F(ReplayTest, SpeedTenDividesTheStoredGapsByTen) {
  start_bus();
  // 41 events over 16 s, gaps of 200, 400 and 600 ms in turn.
  std::vector<int64_t> gaps;
  for (int i = 0; i < 40; ++i) gaps.push_back(200 * (1 + i % 3));
  write_run(bus_.config.storage.results_db, "timed", gaps, {"telemetry.host.stored"});
  auto sub = subscribe({"replay."});
  auto replay = nightshift_child({"replay", "timed", "--speed", "10"});
  auto heard = collect(sub, "timed", 30s);
  ASSERT_EQ(replay->wait(10s), std::optional<int>(0)) << replay->stderr_text();
  ASSERT_EQ(heard.size(), 41u);
  double stored_s = 0;
  for (auto g : gaps) stored_s += static_cast<double>(g) / 1000;
  double replayed_s = std::chrono::duration<double>(heard.back().at - heard.front().at).count();
  EXPECT_NEAR(replayed_s, stored_s / 10, stored_s / 10 * 0.10)
      << "stored " << stored_s << " s, replayed " << replayed_s << " s";
  // And the shape: each third gap (600 ms stored) is longer than the first (200 ms).
  int longer = 0;
  for (std::size_t i = 0; i + 3 < heard.size(); i += 3) {
    auto short_gap = heard[i + 1].at - heard[i].at;
    auto long_gap = heard[i + 3].at - heard[i + 2].at;
    longer += long_gap > short_gap;
  }
  EXPECT_GE(longer, 11) << "of 13";
}

TEST_F(ReplayTest, PauseSeekAndResumeThroughReplayCtl) {
  start_bus();
  write_run(bus_.config.storage.results_db, "steer", std::vector<int64_t>(299, 100),
            {"job.started.steer", "telemetry.host.stored"});
  auto sub = subscribe({"replay."});
  auto replay = nightshift_child({"replay", "steer", "--speed", "1"});
  std::vector<Heard> heard;
  auto take = [&](std::chrono::milliseconds for_how_long) {
    auto until = std::chrono::steady_clock::now() + for_how_long;
    while (std::chrono::steady_clock::now() < until) {
      if (auto e = sub.receive(20ms); e && e->topic.find(".progress") == std::string::npos) {
        heard.push_back({e->topic, e->body, frame_to_json(e->topic, e->frame),
                         std::chrono::steady_clock::now()});
      }
    }
  };
  take(1500ms);
  ASSERT_GE(heard.size(), 5u) << replay->stderr_text();

  auto paused = cli({"replay-ctl", "steer", "pause"});
  ASSERT_EQ(paused.exit_code, 0) << paused.describe();
  EXPECT_EQ(nlohmann::json::parse(paused.stdout_text)["state"], "paused");
  take(200ms);  // what was already on its way
  std::size_t at_pause = heard.size();
  take(800ms);
  EXPECT_EQ(heard.size(), at_pause) << "events arrived while paused";

  auto sought = cli({"replay-ctl", "steer", "seek", "20s"});
  ASSERT_EQ(sought.exit_code, 0) << sought.describe();
  EXPECT_EQ(nlohmann::json::parse(sought.stdout_text)["offset_ns"], 20'000 * kMs);
  take(300ms);
  EXPECT_EQ(heard.size(), at_pause) << "a seek must not resume a paused replay";

  auto resumed = cli({"replay-ctl", "steer", "resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.describe();
  EXPECT_EQ(nlohmann::json::parse(resumed.stdout_text)["state"], "playing");
  take(600ms);
  ASSERT_GT(heard.size(), at_pause);
  // The first event after the seek is the stored event at exactly +20 s (index 200).
  EXPECT_EQ(heard[at_pause].json["replay"]["offset_ns"], 20'000 * kMs);
  EXPECT_EQ(heard[at_pause].json["data"]["attrs"]["i"], "200");

  auto faster = cli({"replay-ctl", "steer", "speed", "max"});
  ASSERT_EQ(faster.exit_code, 0) << faster.describe();
  EXPECT_EQ(replay->wait(10s), std::optional<int>(0)) << replay->stderr_text();
  take(300ms);
  EXPECT_EQ(heard.back().json["data"]["attrs"]["i"], "299");

  auto bad = cli({"replay-ctl", "steer", "rewind"});
  EXPECT_EQ(bad.exit_code, 2) << bad.describe();
  auto gone = cli({"replay-ctl", "steer", "status", "--timeout", "0.5"});
  EXPECT_EQ(gone.exit_code, 1) << gone.describe();
}

// Anything may connect to the replay's control endpoint: requests without
// the REQ envelope, too many frames, a large frame, raw bytes on the TCP
// port. None of it stops or stalls the replay, and a real request right
// after is still answered.
TEST_F(ReplayTest, HostileControlClientsDoNotStopAReplay) {
  start_bus();
  write_run(bus_.config.storage.results_db, "hostile", std::vector<int64_t>(99, 100),
            {"telemetry.host.stored"});
  auto replay = nightshift_child({"replay", "hostile", "--speed", "1"});
  const std::string endpoint = bus_.config.replay.control;
  ASSERT_EQ(endpoint.rfind("tcp://", 0), 0u);
  auto ok = cli({"replay-ctl", "hostile", "status"});
  for (int i = 0; i < 20 && ok.exit_code != 0; ++i) {  // until the replay has bound it
    std::this_thread::sleep_for(100ms);
    ok = cli({"replay-ctl", "hostile", "status"});
  }
  ASSERT_EQ(ok.exit_code, 0) << ok.describe() << replay->stderr_text();
  {
    zmq::socket_t dealer(context_, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(endpoint);
    dealer.send(zmq::str_buffer("pause"), zmq::send_flags::none);  // no empty delimiter
    dealer.send(zmq::str_buffer(""), zmq::send_flags::sndmore);     // delimiter, then two parts
    dealer.send(zmq::str_buffer("pause"), zmq::send_flags::sndmore);
    dealer.send(zmq::str_buffer("now"), zmq::send_flags::none);
    for (int i = 0; i < 100; ++i) dealer.send(zmq::str_buffer("x"), zmq::send_flags::sndmore);
    dealer.send(zmq::str_buffer("pause"), zmq::send_flags::none);
    std::string big(1 << 20, 'p');
    dealer.send(zmq::str_buffer(""), zmq::send_flags::sndmore);
    dealer.send(zmq::buffer(big), zmq::send_flags::none);
    std::string binary = {'\0', '\xff', 's', 'p', 'e', 'e', 'd', '\n'};
    dealer.send(zmq::str_buffer(""), zmq::send_flags::sndmore);
    dealer.send(zmq::buffer(binary), zmq::send_flags::none);
    std::this_thread::sleep_for(300ms);
  }
  // Raw bytes on the port, not ZMTP at all.
  const int port = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
  for (int i = 0; i < 3; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
        << "port " << port << ": " << std::strerror(errno) << "; replay: " << replay->stderr_text();
    std::string junk = "GET / HTTP/1.1\r\n\r\n" + std::string(4096, '\x7f');
    EXPECT_GT(::write(fd, junk.data(), junk.size()), 0);
    ::close(fd);
  }
  auto status = cli({"replay-ctl", "hostile", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.describe() << replay->stderr_text();
  EXPECT_EQ(nlohmann::json::parse(status.stdout_text)["state"], "playing")
      << "a malformed request changed the replay's state";
  auto faster = cli({"replay-ctl", "hostile", "speed", "max"});
  ASSERT_EQ(faster.exit_code, 0) << faster.describe();
  EXPECT_EQ(replay->wait(10s), std::optional<int>(0)) << replay->stderr_text();
}

TEST_F(ReplayTest, ReplayedAndLiveStreamsNeverMix) {
  start_bus();
  write_run(bus_.config.storage.results_db, "mix", std::vector<int64_t>(59, 20),
            {"telemetry.host.stored", "telemetry.gpu.stored.0"});
  auto live_sub = subscribe({"telemetry."});
  auto replay_sub = subscribe({"replay.telemetry."});
  auto live = nightshift_child({"publish", "telemetry.host.live", "-n", "40", "--rate", "40"});
  auto replay = nightshift_child({"replay", "mix", "--speed", "2"});
  std::vector<Heard> on_live, on_replay;
  auto until = std::chrono::steady_clock::now() + 4s;
  while (std::chrono::steady_clock::now() < until) {
    if (auto e = live_sub.receive(5ms)) on_live.push_back({e->topic, "", frame_to_json(e->topic, e->frame), {}});
    if (auto e = replay_sub.receive(5ms)) on_replay.push_back({e->topic, "", frame_to_json(e->topic, e->frame), {}});
  }
  EXPECT_EQ(replay->wait(10s), std::optional<int>(0)) << replay->stderr_text();
  EXPECT_EQ(on_replay.size(), 60u);
  EXPECT_GT(on_live.size(), 10u);
  for (const auto& h : on_live) {
    EXPECT_EQ(h.topic, "telemetry.host.live");
    EXPECT_FALSE(h.json.contains("replay"));
  }
  for (const auto& h : on_replay) {
    EXPECT_EQ(h.topic.rfind("replay.telemetry.", 0), 0u) << h.topic;
    EXPECT_TRUE(h.json.contains("replay"));
    EXPECT_EQ(h.json["src"]["host"], "stored-host");  // the original header
  }
}

TEST_F(ReplayTest, TopicsFromAndToSelectTheRange) {
  start_bus();
  write_run(bus_.config.storage.results_db, "part", std::vector<int64_t>(99, 100),
            {"job.started.part", "telemetry.host.stored"});
  auto sub = subscribe({"replay."});
  auto replay = nightshift_child(
      {"replay", "part", "--max-speed", "--topics", "telemetry.", "--from", "2s", "--to", "5s"});
  auto heard = collect(sub, "part", 30s);
  ASSERT_EQ(replay->wait(10s), std::optional<int>(0)) << replay->stderr_text();
  // Events 20..50 are in [2 s, 5 s]; the odd ones are telemetry.
  ASSERT_EQ(heard.size(), 15u);
  EXPECT_EQ(heard.front().json["data"]["attrs"]["i"], "21");
  EXPECT_EQ(heard.back().json["data"]["attrs"]["i"], "49");
  EXPECT_EQ(heard.front().json["replay"]["total"], 15);
}

TEST_F(ReplayTest, UnknownRunEmptyRangeAndNewerDatabaseAreOneLineErrors) {
  start_bus();
  write_run(bus_.config.storage.results_db, "known", {100, 100}, {"run.known.progress"});
  auto unknown = cli({"replay", "nosuch", "--max-speed"});
  testing::expect_one_line_error(unknown, {"nosuch"}, 1);
  auto empty = cli({"replay", "known", "--from", "1h"});
  testing::expect_one_line_error(empty, {"known", "no stored events"}, 1);
  auto bad_time = cli({"replay", "known", "--from", "yesterday"});
  testing::expect_one_line_error(bad_time, {"yesterday"}, 1);
  {
    auto db = sql::Database::open(bus_.config.storage.results_db);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("PRAGMA user_version=999"));
  }
  auto newer = cli({"replay", "known"});
  testing::expect_one_line_error(newer, {"newer"}, 1);
}

// Old rows: 10 days before now, 300 telemetry samples and 300 events.
void write_old_rows(const std::string& db) {
  auto store = ResultsStore::open_for_writing(db);
  ASSERT_TRUE(store) << store.error();
  auto tx = sql::Transaction::begin(store->db());
  int64_t old = now_ns() - 10 * 86'400LL * 1'000'000'000LL;
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(store->put_telemetry("telemetry.host.old", old + i, "{}"));
    ASSERT_TRUE(store->put_event("telemetry.host.old", "telemetry.host", old + i, "old"));
  }
  ASSERT_TRUE(tx->commit());
}

int64_t count_rows(const std::string& db, const std::string& sql) {
  auto store = ResultsStore::open_read_only(db);
  if (!store) return -1;
  auto n = store->db().query_int(sql);
  return n ? *n : -1;
}

TEST_F(ReplayTest, PruneCountsThenDeletesWhatRetentionSays) {
  start_bus("storage:\n  telemetry_retention_days: 7\n  events_retention_days: 7\n");
  const auto& db = bus_.config.storage.results_db;
  write_old_rows(db);
  write_run(db, "fresh", {100}, {"run.fresh.progress"});  // kStart is years ago: old too
  auto dry = cli({"prune", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.describe();
  EXPECT_NE(dry.stdout_text.find("events          would delete 302 rows"), std::string::npos) << dry.stdout_text;
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM events"), 302);
  auto pruned = cli({"prune", "--vacuum"});
  ASSERT_EQ(pruned.exit_code, 0) << pruned.describe();
  EXPECT_NE(pruned.stdout_text.find("telemetry_host  deleted 300 rows"), std::string::npos) << pruned.stdout_text;
  EXPECT_NE(pruned.stdout_text.find("VACUUM"), std::string::npos) << pruned.stdout_text;
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM events"), 0);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM telemetry_host"), 0);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM runs"), 1);  // results are never pruned
}

TEST_F(ReplayTest, ThePersisterAppliesRetentionDuringARun) {
  start_bus(R"(
symbols: [BTCUSDT]
timeframes: [1h]
horizons: [1]
scheduler:
  lease_s: 3
  grace_s: 2
  trials_per_study: 30
telemetry:
  interval_ms: 50
storage:
  telemetry_retention_days: 7
  events_retention_days: 7
)");
  broker_.reset();
  const auto& db = bus_.config.storage.results_db;
  write_old_rows(db);
  auto out = cli({"run", "--run-id", "kept", "--workers", "1", "--worker-program", NIGHT_TEST_WORKER}, 90s);
  ASSERT_EQ(out.exit_code, 0) << out.describe();
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM events WHERE topic = 'telemetry.host.old'"), 0);
  EXPECT_EQ(count_rows(db, "SELECT COUNT(*) FROM telemetry_host WHERE host = 'old'"), 0);
  EXPECT_GT(count_rows(db, "SELECT COUNT(*) FROM events"), 0);  // this run's events stay
}

}  // namespace
}  // namespace nightshift
