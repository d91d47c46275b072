// The night run end to end with real processes: `nightshift run` starts the
// broker, persister, scheduler and test workers; the tests read the real
// results database afterwards.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "schema/results_store.h"
#include "tests/support/child_process.h"

namespace nightshift {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;

// 6 symbols x 6 timeframes x 3 horizons = 108 studies, one trial and one
// final fit each: 216 jobs. Short leases so chaos recovers quickly.
const char* kNightYaml = R"(
scheduler:
  lease_s: 3
  grace_s: 5
  checkpoint_interval_s: 2
telemetry:
  enabled: false
)";

testing::TestBus night_bus(const std::string& extra = "") {
  return testing::make_test_bus(std::string(kNightYaml) + extra);
}

std::vector<std::string> run_argv(const testing::TestBus& bus, const std::string& command,
                                  const std::string& run, int workers,
                                  const std::vector<std::string>& worker_args = {}) {
  std::vector<std::string> argv{testing::nightshift_binary(), "--config", bus.config_path,
                                command};
  if (command == "run") argv.insert(argv.end(), {"--run-id", run});
  if (command == "resume") argv.push_back(run);
  argv.insert(argv.end(), {"--workers", std::to_string(workers), "--worker-program",
                           NIGHT_TEST_WORKER});
  for (const auto& a : worker_args) argv.insert(argv.end(), {"--worker-arg", a});
  return argv;
}

int64_t query(const testing::TestBus& bus, const std::string& sql) {
  auto store = ResultsStore::open_read_only(bus.config.storage.results_db);
  if (!store) return -1;
  auto n = store->db().query_int(sql);
  return n ? *n : -1;
}

// Children of `parent` whose command line contains `needle`.
std::vector<pid_t> children_matching(pid_t parent, const std::string& needle) {
  std::vector<pid_t> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid != parent || state == 'Z') continue;
    std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos) out.push_back(pid);
  }
  closedir(proc);
  return out;
}

void expect_exactly_once(const testing::TestBus& bus, const std::string& run, int64_t jobs) {
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM jobs WHERE run = '" + run + "'"), jobs);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials WHERE run = '" + run + "'"), jobs);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM jobs WHERE run = '" + run + "' AND state = 'done'"),
            jobs);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM jobs j LEFT JOIN trials t ON t.run = j.run AND "
                       "t.study = j.study AND t.trial = j.trial WHERE j.run = '" + run +
                       "' AND t.run IS NULL"),
            0);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM (SELECT study, trial FROM trials WHERE run = '" + run +
                           "' GROUP BY study, trial HAVING COUNT(*) > 1)"),
            0);  // none duplicated (the primary key says so too)
  // A stored result comes from one of the attempts the scheduler counted.
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM jobs j JOIN trials t ON t.run = j.run AND "
                       "t.study = j.study AND t.trial = j.trial WHERE j.run = '" + run +
                       "' AND (t.attempt < 1 OR t.attempt > j.attempts)"),
            0);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM runs WHERE run = '" + run +
                           "' AND status = 'completed' AND done_jobs = " + std::to_string(jobs)),
            1);
}

// Live processes (not zombies) whose command line contains `needle`.
std::vector<pid_t> processes_mentioning(const std::string& needle) {
  std::vector<pid_t> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0 || pid == getpid()) continue;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    if (close == std::string::npos || line.substr(close + 2, 1) == "Z") continue;
    std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    if (cmdline.find(needle) != std::string::npos) out.push_back(pid);
  }
  closedir(proc);
  return out;
}

std::set<std::string> persisted_keys(const testing::TestBus& bus) {
  std::set<std::string> out;
  auto store = ResultsStore::open_read_only(bus.config.storage.results_db);
  if (!store) return out;
  auto stmt = store->db().prepare("SELECT study || '/' || trial FROM trials");
  if (!stmt) return out;
  while (true) {
    auto has = stmt->step();
    if (!has || !*has) break;
    out.insert(stmt->column_text(0));
  }
  return out;
}

std::multiset<std::string> handled_jobs(const std::string& log_file) {
  std::multiset<std::string> out;
  std::ifstream in(log_file);
  for (std::string key, attempt; in >> key >> attempt;) out.insert(key);
  return out;
}

TEST(NightRun, RunOf216JobsHasExactlyOneResultRowPerJob) {
  auto bus = night_bus();
  ChildProcess run(run_argv(bus, "run", "full", 2, {"--sleep-ms", "5"}));
  auto status = run.wait(120s);
  ASSERT_TRUE(status.has_value()) << run.stdout_text();
  EXPECT_EQ(*status, 0) << run.stdout_text() << run.stderr_text();
  expect_exactly_once(bus, "full", 216);
  EXPECT_NE(run.stdout_text().find("studies promoted"), std::string::npos) << run.stdout_text();
}

// The same with the real stages end to end: `nightshift worker` trains on
// the fetcher's synthetic data. 6 symbols x 2 timeframes x 2 horizons, 8
// trials and a final fit each: 216 jobs.
TEST(NightRun, RealTrainerRunOf216JobsHasExactlyOneResultRowPerJob) {
  auto bus = testing::make_test_bus(R"(
timeframes: [1h, 4h]
horizons: [1, 3]
scheduler:
  trials_per_study: 8
  lease_s: 120
  grace_s: 5
fetcher:
  source: synthetic
  history_days: 240
telemetry:
  enabled: false
)");
  ChildProcess run({testing::nightshift_binary(), "--config", bus.config_path, "run", "--run-id",
                    "real", "--workers", "2"});
  auto status = run.wait(240s);
  ASSERT_TRUE(status.has_value()) << run.stdout_text();
  EXPECT_EQ(*status, 0) << run.stdout_text() << run.stderr_text();
  expect_exactly_once(bus, "real", 216);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM models WHERE run = 'real'"), 24);  // one per study
  EXPECT_NE(run.stdout_text().find("216 of 216 jobs done, 0 skipped"), std::string::npos)
      << run.stdout_text();
}

TEST(NightRun, AJobThatAlwaysFailsIsTriedThreeTimesThenSkipped) {
  auto bus = night_bus("symbols: [BTCUSDT, ETHUSDT]\ntimeframes: [1h]\nhorizons: [1, 3]\n");
  const std::string failing = "ETHUSDT.1h.h3.logreg_l2";
  ChildProcess run(run_argv(bus, "run", "failing", 1, {"--fail-study", failing}));
  auto status = run.wait(60s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << run.stdout_text() << run.stderr_text();
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM failures WHERE study = '" + failing + "'"), 3);
  EXPECT_EQ(query(bus, "SELECT attempts FROM jobs WHERE study = '" + failing + "' AND trial = 0"), 3);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM jobs WHERE study = '" + failing +
                           "' AND state = 'skipped' AND reason LIKE '%failed 3 times%planted "
                           "failure%'"),
            1);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM jobs WHERE study = '" + failing +
                           "' AND trial = -1 AND reason = 'no trial of the study succeeded'"),
            1);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials"), 6);  // the 3 other studies, 2 jobs each
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM runs WHERE status = 'completed'"), 1);
}

TEST(NightRun, SigtermStopsCleanlyAndResumeRunsOnlyUnpersistedJobs) {
  auto bus = night_bus();
  const std::string second_log = bus.dir + "/second.log";
  ChildProcess run(run_argv(bus, "run", "night", 2, {"--sleep-ms", "60"}));
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (query(bus, "SELECT COUNT(*) FROM trials") < 40 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_GE(query(bus, "SELECT COUNT(*) FROM trials"), 40);
  auto term_at = std::chrono::steady_clock::now();
  run.signal(SIGTERM);
  auto status = run.wait(40s);
  ASSERT_TRUE(status.has_value());
  auto stop_took = std::chrono::steady_clock::now() - term_at;
  EXPECT_EQ(*status, 3) << run.stdout_text() << run.stderr_text();  // interrupted, resumable
  // scheduler.grace_s is 5: running jobs (60 ms each) finish well inside it,
  // then the checkpoint is confirmed and the stages stop in order.
  EXPECT_LT(stop_took, 5s + 5s);
  EXPECT_TRUE(processes_mentioning(bus.config_path).empty()) << "a stage outlived the supervisor";
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM runs WHERE status = 'interrupted'"), 1);
  auto persisted_before = persisted_keys(bus);
  ASSERT_LT(persisted_before.size(), 216u);

  ChildProcess resume(run_argv(bus, "resume", "night", 2, {"--sleep-ms", "5", "--log-file", second_log}));
  status = resume.wait(120s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << resume.stdout_text() << resume.stderr_text();
  expect_exactly_once(bus, "night", 216);
  // Counted: no job handled after the resume had a stored result before it.
  auto second = handled_jobs(second_log);
  std::size_t reran = 0;
  for (const auto& key : second) reran += persisted_before.count(key);
  EXPECT_EQ(reran, 0u);
  EXPECT_GE(second.size(), 216 - persisted_before.size());
  std::cout << "[ figures  ] SIGTERM to exit: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(stop_took).count()
            << " ms; persisted before SIGTERM finished: " << persisted_before.size()
            << ", jobs handled after resume: " << second.size() << ", re-run persisted: " << reran
            << "\n";
}

// One stage the chaos loop kills once, and what it saw of it.
struct KilledOnce {
  pid_t pid = 0;                // the process killed; 0 until then
  int64_t rows_at_kill = -1;    // trials stored at that moment (< total: mid-run)
  bool restarted = false;       // a new process of the stage appeared afterwards
};

void kill_once(KilledOnce& k, pid_t supervisor, const std::string& needle,
               const testing::TestBus& bus) {
  auto live = children_matching(supervisor, needle);
  if (k.pid == 0) {
    if (live.empty()) return;
    k.rows_at_kill = query(bus, "SELECT COUNT(*) FROM trials");
    k.pid = live.front();
    kill(k.pid, SIGKILL);
    return;
  }
  for (pid_t pid : live) k.restarted = k.restarted || pid != k.pid;
}

TEST(NightRun, ChaosKillsWorkersPersisterAndBrokerYetEveryJobHasOneRow) {
  auto bus = night_bus();
  // 100 ms jobs keep the workers busy most of the time, so most kills land
  // mid-job and lose an attempt (the retries this test wants to see).
  ChildProcess run(run_argv(bus, "run", "chaos", 3, {"--sleep-ms", "100"}));
  std::mt19937 rng(7);
  int worker_kills = 0;
  std::set<pid_t> workers_seen;
  KilledOnce persister, broker;
  // A worker every 1 to 2.5 s, at random: a fixed period that divides the
  // 3 s lease would kill a worker just as each retry of the same job is sent,
  // and three lost deliveries in a row skip a job by design (max_attempts).
  std::uniform_int_distribution<int> pause_ms(1000, 2500);
  auto started = std::chrono::steady_clock::now();
  auto next_kill = started + std::chrono::milliseconds(pause_ms(rng));
  std::optional<int> status;
  while (!(status = run.wait(100ms))) {
    auto now = std::chrono::steady_clock::now();
    auto elapsed = now - started;
    ASSERT_LT(elapsed, 150s) << "run did not finish under chaos";
    auto workers = children_matching(run.pid(), "night_test_worker");
    workers_seen.insert(workers.begin(), workers.end());
    if (now >= next_kill && !workers.empty()) {
      pid_t victim = workers[rng() % workers.size()];
      if (kill(victim, SIGKILL) == 0) ++worker_kills;
      next_kill = now + std::chrono::milliseconds(pause_ms(rng));
    }
    // The persister and the broker die once each, at points in the run's
    // progress rather than its clock (a fast machine finishes 216 jobs in a
    // few seconds): the persister after 50 rows, the broker after 120 rows
    // and once the persister is back.
    if (persister.pid == 0 || broker.pid == 0 || !persister.restarted || !broker.restarted) {
      int64_t rows = query(bus, "SELECT COUNT(*) FROM trials WHERE run = 'chaos'");
      if (rows >= 50 || persister.pid != 0) kill_once(persister, run.pid(), " persister", bus);
      if ((rows >= 120 && persister.restarted) || broker.pid != 0) {
        kill_once(broker, run.pid(), " broker", bus);
      }
    }
  }
  EXPECT_EQ(*status, 0) << run.stdout_text() << run.stderr_text();
  // Every kill happened, mid-run, and the supervisor brought the stage back.
  EXPECT_GE(worker_kills, 3);
  EXPECT_GT(workers_seen.size(), 3u) << "no worker was restarted";
  for (const auto* k : {&persister, &broker}) {
    EXPECT_NE(k->pid, 0) << "not killed";
    EXPECT_GE(k->rows_at_kill, 0);
    EXPECT_LT(k->rows_at_kill, 216) << "killed after the run's last row";
    EXPECT_TRUE(k->restarted) << "not restarted";
  }
  expect_exactly_once(bus, "chaos", 216);
  // The attempts columns show the retries: results stored from a later
  // attempt, and jobs the scheduler sent more than once.
  int64_t retried = query(bus, "SELECT COUNT(*) FROM trials WHERE run = 'chaos' AND attempt > 1");
  int64_t resent = query(bus, "SELECT COUNT(*) FROM jobs WHERE run = 'chaos' AND attempts > 1");
  EXPECT_GT(retried, 0);
  EXPECT_GE(resent, retried);
  std::cout << "[ figures  ] chaos: " << worker_kills << " workers killed with -9 ("
            << workers_seen.size() << " worker processes in all), the persister at row "
            << persister.rows_at_kill << " and the broker at row " << broker.rows_at_kill
            << "; 216 rows, " << retried << " from a retry (attempt > 1), " << resent
            << " jobs sent more than once\n";
}

}  // namespace
}  // namespace nightshift
