// The night run end to end with real processes: `nightshift run` starts the
// broker, persister, scheduler and test workers; the tests read the real
// results database afterwards.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>


#include <algorithm>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "schema/results_store.h"
#include "tests/integration/night/night_helpers.h"
#include "tests/support/child_process.h"

namespace nightshift {
namespace {

int64_t query(const testing::TestBus& bus, const std::string& sql) {
  return testing::query_db(bus.config.storage.results_db, sql);
}

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
  EXPECT_TRUE(testing::processes_with(bus.config_path).empty()) << "a stage outlived the supervisor";
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM runs WHERE status = 'interrupted'"), 1);
  // Promotion waits for the whole run: nothing is promoted yet.
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM models WHERE promoted = 1"), 0);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM runs WHERE fdr_q IS NULL"), 1);
  const int64_t models_before = query(bus, "SELECT COUNT(*) FROM models");
  auto persisted_before = persisted_keys(bus);
  ASSERT_LT(persisted_before.size(), 216u);

  ChildProcess resume(run_argv(bus, "resume", "night", 2, {"--sleep-ms", "5", "--log-file", second_log}));
  status = resume.wait(120s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << resume.stdout_text() << resume.stderr_text();
  expect_exactly_once(bus, "night", 216);
  // Decided once the resumed run completed, over every study of the run
  // (those whose final fit came before the SIGTERM too).
  const int64_t models = query(bus, "SELECT COUNT(*) FROM models WHERE run = 'night'");
  EXPECT_EQ(query(bus, "SELECT studies_tested FROM runs WHERE run = 'night'"), models);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM models WHERE decision LIKE 'pending%'"), 0);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM models WHERE promoted = 1"),
            query(bus, "SELECT COUNT(*) FROM models WHERE gates_passed = 1"));
  EXPECT_GT(query(bus, "SELECT COUNT(*) FROM models WHERE promoted = 1"), 0);
  std::cout << "[ figures  ] final fits before SIGTERM: " << models_before << " of " << models << "\n";
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
  auto live = testing::processes_with(needle, supervisor);
  if (k.pid == 0) {
    if (live.empty()) return;
    k.rows_at_kill = query(bus, "SELECT COUNT(*) FROM trials");
    k.pid = live.front();
    kill(k.pid, SIGKILL);
    return;
  }
  for (pid_t pid : live) k.restarted = k.restarted || pid != k.pid;
}

bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close = line.rfind(')');
  return close != std::string::npos && line.substr(close + 2, 1) != "Z";
}

// The fetcher dies holding the workers' dataset requests: stopped first, so
// that every worker has a request in it, then killed with -9. Nothing else
// dies until the run has stored `kFetcherRecoveryRows` more rows; the time
// that takes is what the kill cost.
struct FetcherKill {
  pid_t pid = 0;
  int64_t rows_at_kill = -1;
  std::chrono::steady_clock::time_point killed_at{};
  std::optional<std::chrono::milliseconds> recovered_in;
  // The same number of rows before the kill, undisturbed: rows 20 to 26.
  std::optional<std::chrono::steady_clock::time_point> at_20, at_26;
};
constexpr int64_t kFetcherRecoveryRows = 6;  // two per worker

TEST(NightRun, ChaosKillsEveryStageYetEveryJobHasOneRow) {
  // Each job first asks the fetcher for its dataset (--fetch), as real
  // workers do; a short history keeps the synthetic datasets small. Five
  // attempts: the scheduler kills re-send what was in flight on top of the
  // lost worker deliveries.
  auto bus = night_bus(
      "fetcher:\n  source: synthetic\n  history_days: 10\nscheduler:\n  max_attempts: 5\n");
  // 100 ms jobs keep the workers busy most of the time, so most kills land
  // mid-job and lose an attempt (the retries this test wants to see).
  ChildProcess run(run_argv(bus, "run", "chaos", 3, {"--sleep-ms", "100", "--fetch"}));
  std::mt19937 rng(7);
  int worker_kills = 0;
  std::set<pid_t> workers_seen;
  KilledOnce persister, broker, scheduler_first, scheduler_second;
  FetcherKill fetcher;
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
    auto workers = testing::processes_with("night_test_worker", run.pid());
    workers_seen.insert(workers.begin(), workers.end());
    int64_t rows = query(bus, "SELECT COUNT(*) FROM trials WHERE run = 'chaos'");
    if (!fetcher.at_20 && rows >= 20) fetcher.at_20 = now;
    if (!fetcher.at_26 && rows >= 20 + kFetcherRecoveryRows) fetcher.at_26 = now;
    if (fetcher.pid == 0 && rows >= 30) {
      auto live = testing::processes_with(" fetcher", run.pid());
      if (!live.empty()) {
        fetcher.pid = live.front();
        kill(fetcher.pid, SIGSTOP);
        std::this_thread::sleep_for(400ms);  // every worker now waits on it
        fetcher.rows_at_kill = query(bus, "SELECT COUNT(*) FROM trials WHERE run = 'chaos'");
        fetcher.killed_at = std::chrono::steady_clock::now();
        kill(fetcher.pid, SIGKILL);
      }
      continue;
    }
    if (fetcher.pid != 0 && !fetcher.recovered_in) {
      if (rows < fetcher.rows_at_kill + kFetcherRecoveryRows) continue;  // measuring: no other kill
      fetcher.recovered_in = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - fetcher.killed_at);
    }
    // The scheduler dies twice: after 80 rows, and after 150 once the first
    // replacement runs.
    if (rows >= 80 || scheduler_first.pid != 0) kill_once(scheduler_first, run.pid(), " scheduler ", bus);
    if ((rows >= 150 && scheduler_first.restarted) || scheduler_second.pid != 0) {
      kill_once(scheduler_second, run.pid(), " scheduler ", bus);
    }
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
  for (const auto* k : {&persister, &broker, &scheduler_first, &scheduler_second}) {
    EXPECT_NE(k->pid, 0) << "not killed";
    EXPECT_GE(k->rows_at_kill, 0);
    EXPECT_LT(k->rows_at_kill, 216) << "killed after the run's last row";
    EXPECT_TRUE(k->restarted) << "not restarted";
  }
  ASSERT_NE(fetcher.pid, 0) << "the fetcher was not killed";
  EXPECT_LT(fetcher.rows_at_kill, 216);
  ASSERT_TRUE(fetcher.recovered_in.has_value()) << "no row after the fetcher kill";
  // Recovery is the fetcher's restart, not fetcher.dataset_timeout_ms (60 s).
  EXPECT_LT(*fetcher.recovered_in, 10s);
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
            << ", the scheduler at rows " << scheduler_first.rows_at_kill << " and "
            << scheduler_second.rows_at_kill << ", the fetcher at row " << fetcher.rows_at_kill
            << " (the next " << kFetcherRecoveryRows << " rows took "
            << fetcher.recovered_in->count() << " ms; before the kill "
            << (fetcher.at_20 && fetcher.at_26
                    ? std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         *fetcher.at_26 - *fetcher.at_20).count())
                    : std::string("?"))
            << " ms)"
            << "; 216 rows, " << retried << " from a retry (attempt > 1), " << resent
            << " jobs sent more than once\n";
}

// kill -9 of the supervisor takes every stage with it (parent-death signal),
// the scheduler included: no drain of a run nobody supervises.
TEST(NightRun, KillingTheSupervisorLeavesNoStageAlive) {
  auto bus = night_bus();
  ChildProcess run(run_argv(bus, "run", "orphans", 2, {"--sleep-ms", "100"}));
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (query(bus, "SELECT COUNT(*) FROM trials") < 10 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_GE(query(bus, "SELECT COUNT(*) FROM trials"), 10);
  auto children = testing::processes_with("", run.pid());
  ASSERT_GE(children.size(), 6u);  // broker, fetcher, persister, 2 workers, scheduler
  ASSERT_EQ(testing::processes_with(" scheduler ", run.pid()).size(), 1u);
  run.signal(SIGKILL);
  ASSERT_TRUE(run.wait(5s).has_value());
  std::this_thread::sleep_for(2s);
  for (pid_t pid : children) EXPECT_FALSE(alive(pid)) << "stage pid " << pid << " outlived the supervisor";
  EXPECT_TRUE(testing::processes_with(bus.config_path).empty()) << "a stage outlived the supervisor";
}

// A job that never ends while its worker's heartbeats go on: the worker's
// watchdog reports the attempt failed after job_timeout_s and exits, the
// supervisor starts a fresh worker, and after max_attempts the job is
// skipped with that reason. The lease (20 s) never comes into it.
TEST(NightRun, AHungJobEndsItsWorkerAndIsSkippedAfterMaxAttempts) {
  auto bus = night_bus("symbols: [BTCUSDT]\ntimeframes: [1h]\nhorizons: [1, 3]\n"
                       "scheduler:\n  lease_s: 20\n  job_timeout_s: 2\n");
  const std::string hung = "BTCUSDT.1h.h3.logreg_l2";
  ChildProcess run(run_argv(bus, "run", "hung", 1, {"--hang-study", hung}));
  std::set<pid_t> workers_seen;
  std::optional<int> status;
  auto started = std::chrono::steady_clock::now();
  while (!(status = run.wait(100ms))) {
    ASSERT_LT(std::chrono::steady_clock::now() - started, 60s) << run.stdout_text() << run.stderr_text();
    auto workers = testing::processes_with("night_test_worker", run.pid());
    workers_seen.insert(workers.begin(), workers.end());
  }
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(*status, 0) << run.stdout_text() << run.stderr_text();
  EXPECT_GE(workers_seen.size(), 3u) << "the hung worker was not replaced";
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM failures WHERE study = '" + hung +
                           "' AND reason LIKE 'job exceeded job_timeout_s=2 (ran 2._ s)'"),
            3);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM jobs WHERE study = '" + hung +
                           "' AND trial = 0 AND state = 'skipped' AND attempts = 3 AND reason LIKE "
                           "'failed 3 times; last: job exceeded job_timeout_s=2 (ran %'"),
            1);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials"), 2);  // the other study's trial and final
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM runs WHERE status = 'completed'"), 1);
  std::cout << "[ figures  ] hung job: 3 attempts of 2 s each, " << workers_seen.size()
            << " worker processes, run took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
}

// A scheduler that keeps dying is restarted until it has died three times
// within a minute; the run's one line is then that cause, not the
// scheduler's last log line.
TEST(NightRun, ASchedulerKilledThreeTimesEndsTheRunWithThatCause) {
  auto bus = night_bus();
  ChildProcess run(run_argv(bus, "run", "doomed", 2, {"--sleep-ms", "200"}));
  std::set<pid_t> killed;
  std::optional<int> status;
  auto started = std::chrono::steady_clock::now();
  while (!(status = run.wait(100ms))) {
    ASSERT_LT(std::chrono::steady_clock::now() - started, 60s) << run.stdout_text() << run.stderr_text();
    for (pid_t pid : testing::processes_with(" scheduler ", run.pid())) {
      // Each one lives long enough to send jobs, so it is a restart that
      // failed, not a crash loop at start.
      if (killed.count(pid) || query(bus, "SELECT COUNT(*) FROM trials") < 3 * static_cast<int64_t>(killed.size() + 1)) continue;
      kill(pid, SIGKILL);
      killed.insert(pid);
    }
  }
  EXPECT_EQ(*status, 1) << run.stdout_text() << run.stderr_text();
  EXPECT_EQ(killed.size(), 3u);
  std::string err = run.stderr_text();
  while (!err.empty() && err.back() == '\n') err.pop_back();
  std::string last = err.substr(err.rfind('\n') + 1);
  EXPECT_NE(last.find("nightshift: scheduler killed by signal 9 (Killed) 3 times within "),
            std::string::npos) << err;
  EXPECT_NE(last.find("giving up on the run"), std::string::npos) << last;
  EXPECT_TRUE(testing::processes_with(bus.config_path).empty()) << "a stage outlived the run";
}

}  // namespace
}  // namespace nightshift
