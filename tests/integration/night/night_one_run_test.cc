// One run per results database and per bus, with real processes: a second
// `run` or `resume` on a database in use, and a second run on another
// database but the same endpoints, each stop at once with one line and exit 1
// while the first run finishes untouched.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "schema/results_store.h"
#include "tests/integration/night/cli_run.h"
#include "tests/integration/night/night_helpers.h"
#include "tests/support/child_process.h"

namespace nightshift {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;

// 2 symbols x 6 timeframes x 3 horizons = 36 studies, one trial and a final
// fit each: 72 jobs of 60 ms on 2 workers, a few seconds of night.
const char* kNightYaml = R"(
symbols: [BTCUSDT, ETHUSDT]
scheduler:
  lease_s: 10
  grace_s: 5
telemetry:
  enabled: false
)";
constexpr int kJobs = 72;

std::vector<std::string> night_args(const testing::TestBus& bus, const std::string& command,
                                    const std::string& run) {
  std::vector<std::string> args{"--config", bus.config_path, command};
  if (command == "run") args.insert(args.end(), {"--run-id", run});
  if (command == "resume") args.push_back(run);
  args.insert(args.end(), {"--workers", "2", "--worker-program", NIGHT_TEST_WORKER,
                           "--worker-arg", "--sleep-ms", "--worker-arg", "60"});
  return args;
}

// Starts the first run and waits until it has stored a result: mid-run.
std::unique_ptr<ChildProcess> start_first_run(const testing::TestBus& bus) {
  auto args = night_args(bus, "run", "first");
  args.insert(args.begin(), testing::nightshift_binary());
  auto run = std::make_unique<ChildProcess>(args);
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (testing::query_db(bus.config.storage.results_db, "SELECT COUNT(*) FROM trials") < 1 &&
         std::chrono::steady_clock::now() < deadline && run->running()) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GE(testing::query_db(bus.config.storage.results_db, "SELECT COUNT(*) FROM trials"), 1)
      << run->stdout_text() << run->stderr_text();
  return run;
}

void expect_first_run_untouched(ChildProcess& run, const testing::TestBus& bus) {
  auto status = run.wait(120s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << run.stdout_text() << run.stderr_text();
  const std::string& db = bus.config.storage.results_db;
  EXPECT_EQ(testing::query_db(db, "SELECT COUNT(*) FROM trials WHERE run = 'first'"), kJobs);
  EXPECT_EQ(testing::query_db(db, "SELECT COUNT(*) FROM jobs WHERE run = 'first' AND state = 'done'"), kJobs);
  EXPECT_EQ(testing::query_db(db, "SELECT COUNT(*) FROM runs"), 1);
  EXPECT_EQ(testing::query_db(db, "SELECT COUNT(*) FROM trials WHERE run <> 'first'"), 0);
  for (const char* needle : {"restarted ", "exited unexpectedly"}) {
    EXPECT_EQ(run.stderr_text().find(needle), std::string::npos) << run.stderr_text();
  }
}

TEST(OneRun, ASecondRunOrResumeOnTheSameDatabaseStopsAtOnceWithOneLine) {
  auto bus = testing::make_test_bus(kNightYaml);
  auto first = start_first_run(bus);
  ASSERT_TRUE(first->running()) << "the first run ended before the second started";

  auto second = testing::run_cli(night_args(bus, "run", "second"), 30s);
  testing::expect_one_line_error(
      second, {"run lock held: another nightshift run (pid " + std::to_string(first->pid()) + ")",
               "is using " + bus.config.storage.results_db},
      1);
  EXPECT_LT(second.took, 5s);
  EXPECT_EQ(second.stdout_text, "");  // refused before any stage started

  auto resume = testing::run_cli(night_args(bus, "resume", "first"), 30s);
  testing::expect_one_line_error(resume, {"run lock held", bus.config.storage.results_db}, 1);
  ASSERT_TRUE(first->running()) << "the first run ended before the refusals were checked";

  expect_first_run_untouched(*first, bus);
}

TEST(OneRun, ASecondRunOnTheSameEndpointsCannotStartItsBrokerAndTouchesNothing) {
  auto bus = testing::make_test_bus(kNightYaml);
  const auto& b = bus.config.bus;
  // Another database, another folder, the same endpoints as the first run.
  auto other = testing::make_test_bus(
      std::string(kNightYaml) + "bus:\n  events_in: " + b.events_in + "\n  events_out: " +
      b.events_out + "\n  jobs_in: " + b.jobs_in + "\n  jobs_out: " + b.jobs_out +
      "\n  results_in: " + b.results_in + "\n  results_out: " + b.results_out +
      "\n  control: " + b.control + "\nfetcher:\n  dataset_endpoint: " +
      bus.config.fetcher.dataset_endpoint + "\n");
  ASSERT_NE(other.config.storage.results_db, bus.config.storage.results_db);
  auto first = start_first_run(bus);
  ASSERT_TRUE(first->running()) << "the first run ended before the second started";

  auto second = testing::run_cli(night_args(other, "run", "second"), 30s);
  testing::expect_one_line_error(
      second, {"broker could not start", "Address already in use"}, 1);
  EXPECT_LT(second.took, 10s);
  // None of the second run's stages joined the first run's bus.
  EXPECT_EQ(testing::query_db(other.config.storage.results_db, "SELECT COUNT(*) FROM trials"), 0);
  ASSERT_TRUE(first->running()) << "the first run ended before the refusal was checked";

  expect_first_run_untouched(*first, bus);
}

// kill -9 of the supervisor: its stages hold the run lock too (they inherit
// it), and die with it (parent-death SIGKILL), so the lock goes with the last
// of them and a `resume` right after never overlaps one. (That an exec'd
// child alone keeps the lock is tested in tests/unit/base/file_lock_test.cc.)
TEST(OneRun, AResumeAfterAKilledSupervisorNeverOverlapsItsStages) {
  auto bus = testing::make_test_bus(kNightYaml);
  auto first = start_first_run(bus);
  ASSERT_EQ(testing::processes_with(" scheduler ", first->pid()).size(), 1u);
  first->signal(SIGKILL);
  ASSERT_TRUE(first->wait(5s).has_value());
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!testing::processes_with(bus.config_path).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(testing::processes_with(bus.config_path).empty())
      << "a stage of the killed run lives on 2 s after its supervisor";
  auto resumed = testing::run_cli(night_args(bus, "resume", "first"), 120s);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.describe();
  const std::string& db = bus.config.storage.results_db;
  EXPECT_EQ(testing::query_db(db, "SELECT COUNT(*) FROM trials WHERE run = 'first'"), kJobs);
  EXPECT_EQ(testing::query_db(db, "SELECT COUNT(*) FROM jobs WHERE run = 'first' AND state = 'done'"), kJobs);
}

}  // namespace
}  // namespace nightshift
