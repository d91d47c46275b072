// bench/persister: result rows per second through the persister — JobResults
// pushed over the bus (a broker in this process), decoded, committed in
// batched transactions by the real Persister — against a raw sqlite3
// prepared-statement bulk insert of the same rows into the same table with
// the same pragmas (WAL, synchronous=NORMAL), in one run. Prints both rates
// and the ratio (target: persister >= 0.5 x raw). Then CPU seconds, which a
// busy machine distorts less than wall time: what each side burnt in all
// threads (the persister side counts the sender, the broker and the
// persister's intake, writer and checkpoint threads), the busiest single
// thread of the persister side, the pace setter wherever every thread gets a
// core of its own, and minor page faults (about 12 us each on this VM).
//
// Checkpoints are timed on both sides. The persister copies the write-ahead
// log into the database on a thread of its own (WalCheckpointer); the raw
// peer does it as SQLite does by default, inside the commit that takes the
// log past 1000 pages (the same hook, instrumented here). Either way the
// clock stops only once every row is committed and the whole log is copied
// into the database file (a last PASSIVE checkpoint, timed), so neither side
// leaves checkpoint work for after the clock. Each side's checkpoint CPU is
// printed: the raw peer's inside its commits, the persister's on its
// checkpoint thread, plus the last checkpoint on both.
//
// The persister also checks every result (names, metric ranges, plan,
// dispatch token: stages/persister/result_guard.h), work the raw peer does
// not do; the plan is recorded before the clock starts.
#include <pthread.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "broker/broker.h"
#include "broker/bus.h"
#include "schema/dispatch_token.h"
#include "schema/results_store.h"
#include "stages/persister/persister.h"

namespace {

using namespace nightshift;
using Clock = std::chrono::steady_clock;

config::Config bench_config(const std::string& dir, int base_port) {
  config::Config c;
  auto at = [&](int offset) { return "tcp://127.0.0.1:" + std::to_string(base_port + offset); };
  c.bus.events_in = at(0);
  c.bus.events_out = at(1);
  c.bus.jobs_in = at(2);
  c.bus.jobs_out = at(3);
  c.bus.results_in = at(4);
  c.bus.results_out = at(5);
  c.bus.control = at(6);
  c.storage.results_db = dir + "/persister.db";
  return c;
}

// CPU seconds (user + system) of every thread of this process so far.
double process_cpu_s() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Minor page faults of this process so far (every thread).
long page_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// CPU seconds of each thread of this process so far, by thread id, with its name.
std::map<std::string, std::pair<std::string, double>> thread_cpu_s() {
  std::map<std::string, std::pair<std::string, double>> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream schedstat(task.path() / "schedstat");
    std::ifstream comm(task.path() / "comm");
    uint64_t ns = 0;
    std::string name;
    if (schedstat >> ns && std::getline(comm, name)) {
      out[task.path().filename().string()] = {name, static_cast<double>(ns) / 1e9};
    }
  }
  return out;
}

using ThreadTimes = std::map<std::string, std::pair<std::string, double>>;

// CPU seconds of the calling thread so far.
double calling_thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Checkpoint work done inside a side's timing.
struct CheckpointCost {
  int count = 0;          // checkpoints before the last one
  double cpu_s = 0;       // their CPU (the raw peer's commits; the persister's checkpoint thread)
  double wall_s = 0;      // their wall time, where it is on the timed thread (the raw peer)
  double last_cpu_s = 0;  // the last checkpoint, which copies the rest of the log
  double last_wall_s = 0;
};

// What SQLite's default WAL hook does (sqlite3WalDefaultHook: a PASSIVE
// checkpoint once the log reaches 1000 pages, in the committing thread),
// timed.
int raw_checkpoint_hook(void* cost_ptr, sqlite3* db, const char* schema, int log_pages) {
  if (log_pages < 1000) return SQLITE_OK;
  auto& cost = *static_cast<CheckpointCost*>(cost_ptr);
  double cpu_start = calling_thread_cpu_s();
  auto start = Clock::now();
  sqlite3_wal_checkpoint(db, schema);
  cost.wall_s += std::chrono::duration<double>(Clock::now() - start).count();
  cost.cpu_s += calling_thread_cpu_s() - cpu_start;
  ++cost.count;
  return SQLITE_OK;
}

// Copies the rest of the log into the database file: PASSIVE checkpoints
// (BUSY while another checkpoint runs) until every logged page is copied.
void checkpoint_rest(sqlite3* db, CheckpointCost& cost) {
  double cpu_start = calling_thread_cpu_s();
  auto start = Clock::now();
  int log_pages = 0, copied_pages = 0, rc = SQLITE_OK;
  do {
    rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied_pages);
    if (rc == SQLITE_BUSY) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  } while (rc == SQLITE_BUSY || (rc == SQLITE_OK && copied_pages < log_pages));
  if (rc != SQLITE_OK || log_pages < 0) {  // -1: the connection has not opened the log
    std::fprintf(stderr, "last checkpoint: %s\n", rc != SQLITE_OK ? sqlite3_errmsg(db) : "not in WAL mode");
    std::exit(1);
  }
  cost.last_wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  cost.last_cpu_s = calling_thread_cpu_s() - cpu_start;
}

struct Timing {
  double wall_s = 0;
  double cpu_s = 0;                 // all threads
  double busiest_thread_cpu_s = 0;  // the thread that worked most
  std::string busiest_thread;
  std::string by_thread;  // "persister-db 0.30, ZMQbg/IO/0 0.21, ..." (CPU s, largest first)
  long page_faults = 0;
  CheckpointCost checkpoints;
  double cpu_s_of(const std::string& thread_name) const;
  std::map<std::string, double> cpu_s_by_name;
};

double Timing::cpu_s_of(const std::string& thread_name) const {
  auto found = cpu_s_by_name.find(thread_name);
  return found == cpu_s_by_name.end() ? 0 : found->second;
}

// What was spent since `start`, `cpu_start` (process_cpu_s) and `threads_start`.
Timing since(Clock::time_point start, double cpu_start, ThreadTimes& threads_start,
             long faults_start) {
  Timing timing;
  timing.page_faults = page_faults() - faults_start;
  timing.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  timing.cpu_s = process_cpu_s() - cpu_start;
  std::vector<std::pair<double, std::string>> used_by;
  for (const auto& [tid, thread] : thread_cpu_s()) {
    double used = thread.second - threads_start[tid].second;
    if (used > timing.busiest_thread_cpu_s) {
      timing.busiest_thread_cpu_s = used;
      timing.busiest_thread = thread.first;
    }
    timing.cpu_s_by_name[thread.first] += used;
    if (used >= 0.005) used_by.emplace_back(used, thread.first);
  }
  std::sort(used_by.rbegin(), used_by.rend());
  for (const auto& [used, name] : used_by) {
    char part[96];
    std::snprintf(part, sizeof part, "%s%s %.2f", timing.by_thread.empty() ? "" : ", ", name.c_str(), used);
    timing.by_thread += part;
  }
  return timing;
}

const std::string kBenchKey(64, 'b');  // the run's dispatch key

JobKey bench_key(int64_t i) {
  return JobKey{"bench", "BTCUSDT.1h.h1.logreg_l2." + std::to_string(i / 100), i % 100};
}

// The persister stores only results of a recorded plan with their dispatch
// tokens, so the bench records its plan first, as a scheduler would.
void record_plan(const std::string& path, int64_t rows) {
  auto store = ResultsStore::open_for_writing(path);
  if (!store) {
    std::fprintf(stderr, "plan: %s\n", store.error().c_str());
    std::exit(1);
  }
  RunCheckpoint plan;
  plan.run = "bench";
  plan.dispatch_key = kBenchKey;
  for (int64_t i = 0; i < rows; ++i) {
    Job job;
    job.key = bench_key(i);
    job.symbol = "BTCUSDT";
    plan.jobs.push_back(JobState{job, WorkState::pending, ""});
  }
  auto tx = sql::Transaction::begin(store->db());
  if (!tx || !store->put_checkpoint(plan, 1) || !tx->commit()) {
    std::fprintf(stderr, "plan: cannot record it\n");
    std::exit(1);
  }
}

JobResult make_result(int64_t i) {
  JobResult r;
  r.key = bench_key(i);
  r.dispatch_token = dispatch_token(kBenchKey, r.key, r.attempt);
  r.status = ResultStatus::ok;
  r.worker = "bench/1";
  r.params = {{"C", 0.5}};
  r.metrics = {{"auc", 0.55}, {"brier", 0.249}, {"accuracy", 0.53}, {"log_loss", 0.69}};
  for (int f = 0; f < 5; ++f) r.folds.push_back(FoldMetrics{{{"auc", 0.55}, {"brier", 0.25}}, 800, 200});
  r.wall_s = 0.8;
  r.cpu_s = 0.7;
  r.peak_rss_bytes = 50'000'000;
  r.data_fingerprint = "f00d";
  return r;
}

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE) {
    std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

Timing through_persister(const config::Config& config, int64_t rows) {
  record_plan(config.storage.results_db, rows);
  zmq::context_t context(2);
  std::atomic<bool> stop{false};
  auto broker = bus::Broker::bind(context, config.bus);
  if (!broker) {
    std::fprintf(stderr, "broker: %s\n", broker.error().c_str());
    std::exit(1);
  }
  std::thread broker_thread([&] {
    pthread_setname_np(pthread_self(), "broker");
    (*broker)->run([&] { return stop.load(); });
  });
  auto persister = persister::Persister::start(context, config);
  if (!persister) {
    std::fprintf(stderr, "persister: %s\n", persister.error().c_str());
    std::exit(1);
  }
  std::thread persister_thread([&] {
    pthread_setname_np(pthread_self(), "persister-in");  // intake; the writer names itself
    (*persister)->run([&] { return stop.load(); });
  });
  pthread_setname_np(pthread_self(), "sender");
  auto sender = bus::ResultSender::connect(context, config.bus, bus::self_source("bench"));
  auto reader = ResultsStore::open_read_only(config.storage.results_db);
  sqlite3* last_checkpoint = nullptr;  // copies the rest of the log once every row is in
  check(sqlite3_open(config.storage.results_db.c_str(), &last_checkpoint), last_checkpoint, "open");
  // A connection opens the log on its first read; until then its checkpoints do nothing.
  check(sqlite3_exec(last_checkpoint, "PRAGMA user_version", nullptr, nullptr, nullptr), last_checkpoint,
        "first read");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // connections up
  std::vector<JobResult> results;
  for (int64_t i = 0; i < rows; ++i) results.push_back(make_result(i));
  double cpu_start = process_cpu_s();
  auto threads_start = thread_cpu_s();
  long faults_start = page_faults();
  auto start = Clock::now();
  for (const auto& r : results) {
    while (!sender->send(r, std::chrono::milliseconds(1000))) {
    }
  }
  // Rows are only inserted, so the largest rowid is the row count (cheap).
  while (true) {
    auto n = reader->db().query_int("SELECT COALESCE(MAX(rowid), 0) FROM trials");
    if (n && *n >= rows) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CheckpointCost checkpoints;
  checkpoint_rest(last_checkpoint, checkpoints);
  Timing timing = since(start, cpu_start, threads_start, faults_start);
  checkpoints.cpu_s = timing.cpu_s_of("persister-wal");
  timing.checkpoints = checkpoints;
  sqlite3_close(last_checkpoint);
  stop = true;
  persister_thread.join();
  broker_thread.join();
  return timing;
}

// The peer: the same rows, already serialised, straight into the table.
Timing raw_sqlite(const std::string& path, int64_t rows) {
  {
    auto store = ResultsStore::open_for_writing(path);  // same schema
  }
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open");
  check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000",
                     nullptr, nullptr, nullptr), db, "pragmas");
  CheckpointCost checkpoints;
  sqlite3_wal_hook(db, raw_checkpoint_hook, &checkpoints);  // SQLite's default, timed
  sqlite3_stmt* stmt = nullptr;
  check(sqlite3_prepare_v2(db,
        "INSERT INTO trials (run, study, trial, kind, attempt, worker, params, metrics, folds, "
        "wall_s, cpu_s, peak_rss_bytes, cache_hit, data_fingerprint, persisted_ns) VALUES "
        "(?1, ?2, ?3, 'trial', 1, 'bench/1', ?4, ?5, ?6, 0.8, 0.7, 50000000, 0, 'f00d', 1) "
        "ON CONFLICT DO NOTHING", -1, &stmt, nullptr), db, "prepare");
  const std::string params = R"({"C":0.5})";
  const std::string metrics = R"({"accuracy":0.53,"auc":0.55,"brier":0.249,"log_loss":0.69})";
  std::string folds = "[";
  for (int f = 0; f < 5; ++f) {
    folds += std::string(f ? "," : "") + R"({"metrics":{"auc":0.55,"brier":0.25},"test_rows":200,"train_rows":800})";
  }
  folds += "]";
  std::vector<std::string> studies;
  for (int64_t i = 0; i < rows; ++i) studies.push_back("BTCUSDT.1h.h1.logreg_l2." + std::to_string(i / 100));
  double cpu_start = process_cpu_s();
  auto threads_start = thread_cpu_s();
  long faults_start = page_faults();
  auto start = Clock::now();
  for (int64_t i = 0; i < rows; i += 2000) {
    check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db, "begin");
    for (int64_t j = i; j < std::min(rows, i + 2000); ++j) {
      sqlite3_bind_text(stmt, 1, "raw", -1, SQLITE_STATIC);
      sqlite3_bind_text(stmt, 2, studies[j].c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_int64(stmt, 3, j % 100);
      sqlite3_bind_text(stmt, 4, params.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(stmt, 5, metrics.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(stmt, 6, folds.c_str(), -1, SQLITE_STATIC);
      check(sqlite3_step(stmt), db, "insert");
      sqlite3_reset(stmt);
    }
    check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  }
  checkpoint_rest(db, checkpoints);
  Timing timing = since(start, cpu_start, threads_start, faults_start);
  timing.checkpoints = checkpoints;
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return timing;
}

void print_round(int64_t rows, const Timing& raw, const Timing& persister) {
  double raw_rate = static_cast<double>(rows) / raw.wall_s;
  double persister_rate = static_cast<double>(rows) / persister.wall_s;
  std::printf("raw sqlite3 bulk insert:        %10.0f rows/s (%.2f s)\n", raw_rate, raw.wall_s);
  std::printf("persister (bus -> committed):   %10.0f rows/s (%.2f s)\n", persister_rate,
              persister.wall_s);
  std::printf("ratio persister/raw: %.2f (target >= 0.5)\n", persister_rate / raw_rate);
  std::printf("cpu: raw %.2f s, persister side %.2f s (sender + broker + persister threads)\n",
              raw.cpu_s, persister.cpu_s);
  std::printf("busiest thread cpu: raw %.2f s, persister side %.2f s (%s); ratio %.2f\n",
              raw.busiest_thread_cpu_s, persister.busiest_thread_cpu_s,
              persister.busiest_thread.c_str(),
              raw.busiest_thread_cpu_s / persister.busiest_thread_cpu_s);
  std::printf("persister side by thread (CPU s): %s\n", persister.by_thread.c_str());
  std::printf("page faults: raw %ld, persister side %ld\n", raw.page_faults,
              persister.page_faults);
  const CheckpointCost& r = raw.checkpoints;
  const CheckpointCost& p = persister.checkpoints;
  std::printf("checkpoints (timed on both sides): raw %d in its commits, %.3f CPU s (%.3f s wall on the "
              "timed thread) + last %.3f CPU s (%.3f s wall); persister side: checkpoint thread %.3f CPU s "
              "+ last %.3f CPU s (%.3f s wall)\n",
              r.count, r.cpu_s, r.wall_s, r.last_cpu_s, r.last_wall_s, p.cpu_s, p.last_cpu_s, p.last_wall_s);
}

}  // namespace

// bench_persister [ROWS [ROUNDS]]: ROUNDS rounds (default 3), each the raw
// insert then the persister on fresh files; the median round's ratio is the
// figure, since one round on a shared 2-core machine can be off either way.
int main(int argc, char** argv) {
  int64_t rows = argc > 1 ? std::atoll(argv[1]) : 50'000;
  int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
  char dir[] = "/tmp/nightshift-bench-persister-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  int base_port = 27000 + static_cast<int>(getpid() % 2000) * 8;
  spdlog::set_level(spdlog::level::warn);
  std::printf("rows: %lld, rounds: %d\n", static_cast<long long>(rows), rounds);
  std::vector<double> ratios, cpu_ratios;
  for (int round = 1; round <= rounds; ++round) {
    auto config = bench_config(dir, base_port);
    config.storage.results_db = std::string(dir) + "/persister-" + std::to_string(round) + ".db";
    Timing raw = raw_sqlite(std::string(dir) + "/raw-" + std::to_string(round) + ".db", rows);
    Timing persister = through_persister(config, rows);
    std::printf("-- round %d\n", round);
    print_round(rows, raw, persister);
    ratios.push_back(raw.wall_s / persister.wall_s);
    cpu_ratios.push_back(raw.cpu_s / persister.cpu_s);
  }
  std::sort(cpu_ratios.begin(), cpu_ratios.end());
  std::sort(ratios.begin(), ratios.end());
  std::printf("median ratio persister/raw over %d rounds: %.2f (range %.2f-%.2f; target >= 0.5)\n",
              rounds, ratios[ratios.size() / 2], ratios.front(), ratios.back());
  std::printf("median CPU ratio raw/persister side over %d rounds: %.2f (range %.2f-%.2f)\n", rounds,
              cpu_ratios[cpu_ratios.size() / 2], cpu_ratios.front(), cpu_ratios.back());
  std::filesystem::remove_all(dir);
  return 0;
}
