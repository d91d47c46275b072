// bench/replay, in one run on one generated database (the store's own API):
//
//  1. replay: events/s `nightshift replay --max-speed` delivers from the
//     database through a broker (`nightshift broker`) to a subscriber,
//     against (a) a raw sqlite3 read of the same rows, and (b) publishing
//     the same messages from memory through the same broker (the bus's own
//     ceiling). Targets: >= 0.7 x (b) and >= 200,000 events/s.
//  2. export: peak RSS of `nightshift export --what events --format jsonl`
//     of the whole run (target < 50 MB).
//  3. prune: a persister's writer (BatchWriter, the persister's commit path)
//     commits a batch of telemetry every 20 ms while `nightshift prune`
//     deletes a million old telemetry rows; its commit latency p99 during the
//     prune (target < 100 ms).
//
// The subscriber reads raw frames (no decoding) in both 1 and (b), so the
// ratio compares the replay with the bus, not with a decoder.
//
// Usage: bench_replay [--events N] [--telemetry-rows N]   (--telemetry-rows 0: no prune part)
#include <nlohmann/json.hpp>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "broker/bus.h"
#include "broker/socket_options.h"
#include "schema/codec.h"
#include "schema/event_messages.h"
#include "schema/results_store.h"
#include "schema/topics.h"
#include "stages/persister/batch_writer.h"
#include "stages/persister/wal_checkpointer.h"

namespace {

using namespace nightshift;
using Clock = std::chrono::steady_clock;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kDay = 86'400LL * 1'000'000'000LL;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A child process: the nightshift binary with `args`.
struct Child {
  pid_t pid = -1;
  rusage usage{};
  int status = 0;
  static Child start(const std::vector<std::string>& args, const std::string& out_file = "/dev/null") {
    Child c;
    c.pid = fork();
    if (c.pid == 0) {
      FILE* out = std::fopen(out_file.c_str(), "w");
      if (out != nullptr) dup2(fileno(out), 1);
      std::vector<char*> argv;
      std::string bin = NIGHTSHIFT_BINARY;
      argv.push_back(bin.data());
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    return c;
  }
  // The peak RSS of the program it runs, from /proc (rusage would carry
  // over the forked copy of this process's pages).
  double peak_rss_mb() const {
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name != "nightshift") return 0;  // not exec'd yet: still our forked copy
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
    }
    return 0;
  }
  bool done() {
    if (pid < 0) return true;
    pid_t r = wait4(pid, &status, WNOHANG, &usage);
    if (r == pid) pid = -1;
    return pid < 0;
  }
  void wait() {
    if (pid < 0) return;
    wait4(pid, &status, 0, &usage);
    pid = -1;
  }
  void stop() {
    if (pid < 0) return;
    kill(pid, SIGTERM);
    wait();
  }
};

std::string write_config(const std::string& dir, const std::string& db) {
  std::string path = dir + "/bench.yaml";
  std::ofstream f(path);
  f << "storage:\n  results_db: " << db << "\n  telemetry_retention_days: 7\n"
    << "  events_retention_days: 0\nbus:\n";
  for (const char* name : {"events_in", "events_out", "jobs_in", "jobs_out", "results_in",
                           "results_out", "control"}) {
    f << "  " << name << ": ipc://" << dir << "/bus/" << name << "\n";
  }
  f << "fetcher:\n  dataset_endpoint: ipc://" << dir << "/bus/dataset\n"
    << "replay:\n  control: ipc://" << dir << "/bus/replay\n";
  return path;
}

// The stored run: `n` events 1 ms apart on three topics, ~200-byte bodies.
void generate(const std::string& db, int64_t n, int64_t start_ns) {
  auto store = ResultsStore::open_for_writing(db);
  if (!store) std::exit((std::fprintf(stderr, "%s\n", store.error().c_str()), 1));
  const char* topics[] = {"telemetry.host.bench", "job.started.bench", "run.bench.progress"};
  auto tx = sql::Transaction::begin(store->db());
  for (int64_t i = 0; i < n; ++i) {
    Header h;
    h.type = Event::kType;
    h.ts_ns = start_ns + i * kMs;
    h.src = Source{"bench-host", "telemetry", 4242};
    h.seq = static_cast<uint64_t>(i + 1);
    Event e;
    e.name = "sample";
    e.attrs = {{"i", std::to_string(i)}, {"cpu_pct", "42.5"}, {"mem_used_bytes", "123456789"},
               {"note", "a replayed event of about two hundred bytes, like a small sample"}};
    (void)store->put_event(topics[i % 3], Event::kType, h.ts_ns, encode(h, e));
  }
  RunCheckpoint c;
  c.run = "bench";
  c.status = RunStatus::completed;
  c.started_ns = start_ns;
  (void)store->put_checkpoint(c, start_ns + n * kMs);
  (void)tx->commit();
}

double raw_read(const std::string& db, int64_t& rows) {
  sqlite3* handle = nullptr;
  sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(handle, "SELECT id, ts_ns, topic, type, body FROM events ORDER BY ts_ns, id",
                     -1, &stmt, nullptr);
  auto t = Clock::now();
  int64_t bytes = 0;
  rows = 0;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    bytes += sqlite3_column_bytes(stmt, 2) + sqlite3_column_bytes(stmt, 4) + sqlite3_column_int64(stmt, 1) % 2;
    ++rows;
  }
  double s = seconds_since(t);
  sqlite3_finalize(stmt);
  sqlite3_close(handle);
  if (bytes == 0) std::printf("(no bytes read)\n");
  return s;
}

// What a subscriber saw of a replay stream, in order: one value over every
// topic and body, so two streams compare equal only when they hold the same
// messages in the same order (std::hash: a few GB/s, so counting stays the
// bottleneck it was).
struct StreamDigest {
  uint64_t value = 1469598103934665603ull;
  void add(std::string_view topic, std::string_view body) {
    value = (value * 1099511628211ull) ^ std::hash<std::string_view>{}(topic);
    value = (value * 1099511628211ull) ^ std::hash<std::string_view>{}(body);
  }
};

// Counts replay.* frames (but the replay's own progress) until `n` or idle.
struct Counted {
  int64_t received = 0;
  double seconds = 0;  // first to last
  StreamDigest digest;
};
Counted count_frames(zmq::socket_t& sub, int64_t n, std::chrono::seconds idle) {
  Counted c;
  Clock::time_point first{}, last{};
  while (c.received < n) {
    auto frame = bus::receive_raw(sub, c.received == 0 ? std::chrono::milliseconds(20000) : idle);
    if (!frame) break;
    if (frame->frame.topic == "replay.bench.progress") continue;
    if (c.received == 0) first = Clock::now();
    last = Clock::now();
    c.digest.add(frame->frame.topic, frame->frame.body);
    ++c.received;
  }
  c.seconds = std::chrono::duration<double>(last - first).count();
  return c;
}

// The stored events as the replay publishes them: replay.<topic>, the body
// with the replay's position appended (docs/replay.md).
std::vector<std::pair<std::string, std::string>> replay_messages(const std::string& db, int64_t n) {
  std::vector<std::pair<std::string, std::string>> messages;
  auto store = ResultsStore::open_read_only(db);
  auto stmt = store->db().prepare("SELECT id, ts_ns, topic, body FROM events ORDER BY ts_ns, id");
  int64_t first_ts = 0;
  while (*stmt->step()) {
    if (messages.empty()) first_ts = stmt->column_int(1);
    ReplayPosition p{"bench", messages.size(), static_cast<uint64_t>(n), stmt->column_int(1) - first_ts,
                     stmt->column_int(0)};
    std::string body;
    append_replay_position(stmt->column_view(3), p, body);
    messages.emplace_back(topics::replay(stmt->column_view(2)), std::move(body));
  }
  return messages;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

int bench_replay(const std::string& dir, int64_t n) {
  std::string db = dir + "/replay.db";
  std::string config_path = write_config(dir, db);
  auto config = config::load_config(config_path);
  if (!config) return (std::fprintf(stderr, "%s\n", config.error().c_str()), 1);
  auto t = Clock::now();
  generate(db, n, 1'700'000'000'000'000'000);
  std::printf("generated %lld events in %.1f s (%.0f MB)\n", static_cast<long long>(n), seconds_since(t),
              static_cast<double>(std::filesystem::file_size(db)) / 1e6);

  int64_t rows = 0;
  double raw_s = raw_read(db, rows);
  double raw_rate = static_cast<double>(rows) / raw_s;
  std::printf("(a) raw sqlite3 read:        %9.0f events/s (%lld rows in %.2f s)\n", raw_rate,
              static_cast<long long>(rows), raw_s);

  Child broker = Child::start({"--config", config_path, "--log-level", "warn", "broker"});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  zmq::context_t context(1);
  auto sub = bus::connect_socket(context, zmq::socket_type::sub, config->bus.events_out, config->bus);
  sub->set(zmq::sockopt::subscribe, "replay.");

  // The publisher is a process of its own, as the replay is: same hops,
  // same number of ZeroMQ I/O threads on each side.
  Counted memory;
  std::thread counter([&] { memory = count_frames(*sub, n, std::chrono::seconds(3)); });
  pid_t publisher_pid = fork();
  if (publisher_pid == 0) {
    // (b): the replay's very messages, loaded here (so the receiving
    // process shares no heap pages with this one), then sent from memory.
    auto messages = replay_messages(db, n);
    zmq::context_t own(1);
    auto publisher = bus::Publisher::connect(own, config->bus, bus::self_source("bench"), bus::AtMark::wait);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // as the replay's --warmup
    for (const auto& [topic, body] : messages) {
      while (!publisher->publish_raw(topic, body, std::chrono::milliseconds(1000))) {
      }
    }
    publisher->socket().close();
    own.close();
    _exit(0);
  }
  counter.join();
  waitpid(publisher_pid, nullptr, 0);
  StreamDigest expected;
  for (const auto& [topic, body] : replay_messages(db, n)) expected.add(topic, body);
  double memory_rate = static_cast<double>(memory.received) / memory.seconds;
  std::printf("(b) from memory via broker:  %9.0f events/s (%lld of %lld received%s)\n", memory_rate,
              static_cast<long long>(memory.received), static_cast<long long>(n),
              memory.digest.value == expected.value ? ", same bodies in the same order" : ", NOT the stored stream");

  Counted replayed;
  std::thread replay_counter([&] { replayed = count_frames(*sub, n, std::chrono::seconds(3)); });
  Child replay = Child::start({"--config", config_path, "--log-level", "warn", "replay", "bench",
                               "--max-speed", "--no-keys"});
  replay_counter.join();
  replay.wait();
  // The events device's counters: how often the broker held the replay for
  // the subscriber, and whether anything was missed.
  std::string broker_events_json = "(no answer)";
  {
    auto control = bus::connect_socket(context, zmq::socket_type::req, config->bus.control, config->bus);
    if (control) {
      (void)control->send(zmq::buffer(std::string("stats")), zmq::send_flags::none);
      zmq::pollitem_t item{control->handle(), 0, ZMQ_POLLIN, 0};
      zmq::message_t reply;
      if (zmq::poll(&item, 1, std::chrono::seconds(3)) > 0 && control->recv(reply)) {
        auto stats = nlohmann::json::parse(reply.to_string(), nullptr, false);
        if (!stats.is_discarded()) broker_events_json = stats["devices"]["events"].dump();
      }
    }
  }
  broker.stop();
  double replay_rate = static_cast<double>(replayed.received) / replayed.seconds;
  const bool exact = replayed.received == n && replayed.digest.value == expected.value;
  std::printf("replay --max-speed:          %9.0f events/s (%lld of %lld received%s)\n", replay_rate,
              static_cast<long long>(replayed.received), static_cast<long long>(n),
              exact ? ", same bodies in the same order" : ", NOT the stored stream");
  double ratio = replay_rate / memory_rate;
  bool ok = ratio >= 0.7 && replay_rate >= 200'000 && exact;
  std::printf("ratio replay / (b): %.2f  target >= 0.7; replay / (a): %.2f; %s (>= 200000 events/s, "
              "exactly the stored events)\n",
              ratio, replay_rate / raw_rate, ok ? "PASS" : "FAIL");
  std::printf("broker: %s\n", broker_events_json.c_str());

  // Export of the whole run: peak RSS.
  bool export_ok = true;
  for (const char* format : {"jsonl", "csv"}) {
    auto t0 = Clock::now();
    Child exporter = Child::start({"--config", config_path, "--log-level", "warn", "export", "bench",
                                   "--what", "events", "--format", format, "--out", dir + "/events." + format});
    double rss_mb = 0;
    while (!exporter.done()) {
      rss_mb = std::max(rss_mb, exporter.peak_rss_mb());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    bool good = WIFEXITED(exporter.status) && WEXITSTATUS(exporter.status) == 0 && rss_mb < 50;
    export_ok = export_ok && good;
    std::printf("export --what events --format %-5s: %lld events in %.1f s, peak RSS %.1f MB  target < 50 MB  %s\n",
                format, static_cast<long long>(n), seconds_since(t0), rss_mb, good ? "PASS" : "FAIL");
  }
  return ok && export_ok ? 0 : 1;
}

int bench_prune(const std::string& dir, int64_t n) {
  std::string db = dir + "/prune.db";
  std::string config_path = write_config(dir, db);
  int64_t now = now_ns();
  {
    auto store = ResultsStore::open_for_writing(db);
    auto tx = sql::Transaction::begin(store->db());
    std::string body(300, 'x');
    for (int64_t i = 0; i < n; ++i) {
      (void)store->put_telemetry("telemetry.host.bench", now - 10 * kDay + i * kMs, body);
    }
    (void)tx->commit();
  }
  std::printf("prune: %lld telemetry rows older than the 7-day retention\n", static_cast<long long>(n));

  // The persister's writer: its store, its BatchWriter, a batch every 20 ms.
  auto store = ResultsStore::open_for_writing(db);
  // As in the persister: the log is copied back on a thread of its own, not
  // inside the writer's commits.
  auto checkpointer = persister::WalCheckpointer::start(store->db());
  if (!checkpointer) return (std::fprintf(stderr, "%s\n", checkpointer.error().c_str()), 1);
  persister::BatchWriter writer(*store);
  std::atomic<bool> stop{false}, pruning{false};
  std::vector<double> before, during;
  std::thread persister([&] {
    auto next = Clock::now();
    uint64_t seq = 0;
    while (!stop) {
      for (int i = 0; i < 100; ++i) {
        persister::EventRecord e;
        e.topic = "telemetry.host.live";
        e.type = "telemetry.host";
        e.ts_ns = now_ns();
        e.body = "body " + std::to_string(++seq);
        e.json = R"({"cpu_pct": 12.5})";
        writer.add(std::move(e));
      }
      auto t = Clock::now();
      auto outcome = writer.commit(now_ns());
      double ms = seconds_since(t) * 1000;
      if (!outcome) std::fprintf(stderr, "commit failed: %s\n", outcome.error().c_str());
      (pruning ? during : before).push_back(ms);
      next += std::chrono::milliseconds(20);
      std::this_thread::sleep_until(next);
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  pruning = true;
  auto t = Clock::now();
  Child prune = Child::start({"--config", config_path, "--log-level", "warn", "prune"}, dir + "/prune.out");
  prune.wait();
  double prune_s = seconds_since(t);
  pruning = false;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  persister.join();
  checkpointer->reset();
  std::ifstream out(dir + "/prune.out");
  for (std::string line; std::getline(out, line);) std::printf("  nightshift prune: %s\n", line.c_str());
  double p99 = percentile(during, 0.99);
  bool ok = WIFEXITED(prune.status) && WEXITSTATUS(prune.status) == 0 && p99 < 100 && !during.empty();
  std::printf("persister commits: before prune p50 %.1f ms p99 %.1f ms; during prune (%.1f s, %zu commits) "
              "p50 %.1f ms p99 %.1f ms max %.1f ms  target p99 < 100 ms  %s\n",
              percentile(before, 0.5), percentile(before, 0.99), prune_s, during.size(),
              percentile(during, 0.5), p99, percentile(during, 1.0), ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t events = 1'000'000, telemetry_rows = 1'000'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--events") == 0) events = std::atoll(argv[i + 1]);
    if (std::strcmp(argv[i], "--telemetry-rows") == 0) telemetry_rows = std::atoll(argv[i + 1]);
  }
  char tmpl[] = "/tmp/bench-replay-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  int status = bench_replay(dir, events);
  if (telemetry_rows > 0) status |= bench_prune(dir, telemetry_rows);
  std::filesystem::remove_all(dir);
  return status;
}
