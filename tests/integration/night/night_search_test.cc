// A TPE search through the whole night run, with real processes: the
// scheduler suggests each trial's params as it sends it, and a run killed
// with -9 mid-search resumes to exactly trials_per_study trials per study.
#include <gtest/gtest.h>

#include <signal.h>

#include <map>
#include <set>
#include <thread>

#include "schema/results_store.h"
#include "tests/integration/night/night_helpers.h"
#include "tests/support/child_process.h"

namespace nightshift {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;

constexpr int kTrials = 30;

const char* kSearchYaml = R"(
symbols: [AAA, BBB]
timeframes: [1h]
horizons: [1]
models: [logreg_enet]
scheduler:
  lease_s: 3
  grace_s: 5
  checkpoint_interval_s: 2
  sampler: tpe
  trials_per_study: 30
  tpe: {n_startup_trials: 5}
telemetry:
  enabled: false
)";

std::vector<std::string> run_argv(const testing::TestBus& bus, const std::string& command,
                                  const std::string& sleep_ms = "80") {
  std::vector<std::string> argv{testing::nightshift_binary(), "--config", bus.config_path, command};
  if (command == "run") argv.insert(argv.end(), {"--run-id", "search"});
  if (command == "resume") argv.push_back("search");
  argv.insert(argv.end(), {"--workers", "3", "--worker-program", NIGHT_TEST_WORKER,
                           "--worker-arg", "--sleep-ms", "--worker-arg", sleep_ms});
  return argv;
}

int64_t query(const testing::TestBus& bus, const std::string& sql) {
  return testing::query_db(bus.config.storage.results_db, sql);
}

TEST(NightSearch, AKilledTpeSearchResumesToExactlyTrialsPerStudy) {
  auto bus = testing::make_test_bus(kSearchYaml);
  ChildProcess run(run_argv(bus, "run"));
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (query(bus, "SELECT COUNT(*) FROM trials") < 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_GE(query(bus, "SELECT COUNT(*) FROM trials"), 20);
  run.signal(SIGKILL);  // the stages die with it (parent-death signal)
  ASSERT_TRUE(run.wait(10s).has_value());
  std::this_thread::sleep_for(1s);
  const int64_t before = query(bus, "SELECT COUNT(*) FROM trials");
  ASSERT_LT(before, 2 * (kTrials + 1)) << "the run ended before it was killed";

  ChildProcess resume(run_argv(bus, "resume"));
  auto status = resume.wait(120s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << resume.stdout_text() << resume.stderr_text();

  for (const char* study : {"AAA.1h.h1.logreg_enet", "BBB.1h.h1.logreg_enet"}) {
    EXPECT_EQ(query(bus, std::string("SELECT COUNT(*) FROM trials WHERE kind = 'trial' AND study = '") +
                             study + "'"),
              kTrials)
        << study;
    EXPECT_EQ(query(bus, std::string("SELECT COUNT(*) FROM trials WHERE trial = -1 AND study = '") +
                             study + "'"),
              1)
        << study;
  }
  // Every trial was suggested inside the space, and no two are the same.
  auto store = ResultsStore::open_read_only(bus.config.storage.results_db);
  ASSERT_TRUE(store);
  for (const char* study : {"AAA.1h.h1.logreg_enet", "BBB.1h.h1.logreg_enet"}) {
    auto trials = store->finished_trials("search", study);
    ASSERT_TRUE(trials) << trials.error();
    ASSERT_EQ(trials->size(), static_cast<std::size_t>(kTrials));
    std::set<std::map<std::string, double>> distinct;
    for (const auto& [params, auc] : *trials) {
      ASSERT_EQ(params.size(), 2u);
      EXPECT_GE(params.at("C"), 0.001);
      EXPECT_LE(params.at("C"), 100.0);
      EXPECT_GE(params.at("l1_ratio"), 0.0);
      EXPECT_LE(params.at("l1_ratio"), 1.0);
      distinct.insert(params);
    }
    EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kTrials)) << study;
  }
  std::cout << "[ figures  ] trials persisted when killed: " << before << " of " << 2 * (kTrials + 1)
            << "\n";
}

// study_timeout_s: 1 while each trial takes 300 ms on 3 workers: each study
// sends about a dozen trials, skips the rest with the reason, and still has
// its final fit; the run completes.
TEST(NightSearch, AStudyPastItsTimeoutSendsNoNewTrialsButItsFinalRuns) {
  std::string yaml = kSearchYaml;
  const std::string trials = "  trials_per_study: 30\n";
  yaml.insert(yaml.find(trials) + trials.size(), "  study_timeout_s: 1\n");
  testing::TestBus timed = testing::make_test_bus(yaml);
  ChildProcess run(run_argv(timed, "run", "300"));
  auto status = run.wait(60s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << run.stdout_text() << run.stderr_text();
  for (const char* study : {"AAA.1h.h1.logreg_enet", "BBB.1h.h1.logreg_enet"}) {
    const std::string where = std::string(" AND study = '") + study + "'";
    int64_t sent = query(timed, "SELECT COUNT(*) FROM trials WHERE kind = 'trial'" + where);
    int64_t skipped = query(timed, "SELECT COUNT(*) FROM jobs WHERE state = 'skipped' AND reason = "
                                   "'study_timeout_s (1 s) reached'" + where);
    EXPECT_GE(sent, 1) << study;
    EXPECT_LT(sent, kTrials) << study;
    EXPECT_EQ(sent + skipped, kTrials) << study;
    EXPECT_EQ(query(timed, "SELECT COUNT(*) FROM trials WHERE trial = -1" + where), 1) << study;
    std::cout << "[ figures  ] " << study << ": " << sent << " trials sent, " << skipped
              << " skipped by the timeout\n";
  }
  EXPECT_EQ(query(timed, "SELECT COUNT(*) FROM runs WHERE status = 'completed'"), 1);
}

}  // namespace
}  // namespace nightshift
