// The operator commands against a finished small run and temporary config
// files, through the real binary: watch, status, runs, estimate, health, and
// config create | optimize | add-symbol | set-timeframes | set-thresholds.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "base/process.h"
#include "broker/bus.h"
#include "config/config_editor.h"
#include "schema/results_store.h"
#include "schema/telemetry_messages.h"
#include "schema/topics.h"
#include "tests/integration/night/cli_run.h"
#include "tests/support/child_process.h"

namespace nightshift {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::expect_one_line_error;
using testing::run_cli;

// 2 symbols x 2 timeframes x 1 horizon, one trial and a final fit each: 8 jobs.
const char* kSmallRun = R"(
symbols: [BTCUSDT, ETHUSDT]
timeframes: [1h, 4h]
horizons: [1]
scheduler:
  lease_s: 3
  grace_s: 2
telemetry:
  enabled: false
)";

// One finished run ("ops") shared by the tests that read it.
const testing::TestBus& finished_run() {
  static const testing::TestBus bus = [] {
    auto b = testing::make_test_bus(kSmallRun);
    auto out = run_cli({"--config", b.config_path, "run", "--run-id", "ops", "--workers", "1",
                        "--worker-program", NIGHT_TEST_WORKER},
                       60s);
    EXPECT_EQ(out.exit_code, 0) << out.describe();
    return b;
  }();
  return bus;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(NightOperator, WatchStatusAndRunsShowTheFinishedRun) {
  const auto& bus = finished_run();
  auto watch = run_cli({"--config", bus.config_path, "watch", "-n", "2", "--interval", "0.2"}, 20s);
  EXPECT_EQ(watch.exit_code, 0) << watch.describe();
  EXPECT_EQ(count(watch.stdout_text, "run ops: completed"), 2u) << watch.stdout_text;
  EXPECT_NE(watch.stdout_text.find("8 done, 0 skipped of 8; 8 result rows"), std::string::npos)
      << watch.stdout_text;

  auto status = run_cli({"--config", bus.config_path, "status", "ops", "--json"}, 20s);
  EXPECT_EQ(status.exit_code, 0) << status.describe();
  EXPECT_NE(status.stdout_text.find(R"("status":"completed")"), std::string::npos);
  EXPECT_NE(status.stdout_text.find(R"("jobs":{"done":8,"skipped":0,"total":8})"),
            std::string::npos)
      << status.stdout_text;

  auto runs = run_cli({"--config", bus.config_path, "runs"}, 20s);
  EXPECT_EQ(runs.exit_code, 0) << runs.describe();
  EXPECT_NE(runs.stdout_text.find("ops"), std::string::npos);
  EXPECT_NE(runs.stdout_text.find("8/8"), std::string::npos) << runs.stdout_text;

  auto unknown = run_cli({"--config", bus.config_path, "status", "no-such-run"}, 20s);
  expect_one_line_error(unknown, {"no-such-run"}, 1);
}

// Per-host view (issue 18): `runs` and `status` name each host with its
// results, its workers and whether it sent telemetry. A real run on this
// host, then two of its rows moved to a second host's worker and telemetry
// samples from two hosts stored inside the run's window (one before it,
// which must not count), as the persister stores them from other hosts.
TEST(NightOperator, RunsAndStatusShowWorkersAndTelemetryPerHost) {
  auto bus = testing::make_test_bus(kSmallRun);
  auto out = run_cli({"--config", bus.config_path, "run", "--run-id", "hosts", "--workers", "1",
                      "--worker-program", NIGHT_TEST_WORKER},
                     60s);
  ASSERT_EQ(out.exit_code, 0) << out.describe();
  const std::string here = host_name();
  {
    auto store = ResultsStore::open_for_writing(bus.config.storage.results_db);
    ASSERT_TRUE(store.ok()) << store.error();
    auto& db = store->db();
    ASSERT_TRUE(db.exec("UPDATE trials SET worker = 'hostB/B-1' WHERE rowid IN "
                        "(SELECT rowid FROM trials WHERE run = 'hosts' ORDER BY rowid LIMIT 2)")
                    .ok());
    ASSERT_TRUE(db.exec("INSERT INTO telemetry_host (ts_ns, host, body) SELECT started_ns + 1, "
                        "'hostB', '{}' FROM runs WHERE run = 'hosts'").ok());
    ASSERT_TRUE(db.exec("INSERT INTO telemetry_host (ts_ns, host, body) SELECT started_ns + 2, "
                        "'hostC', '{}' FROM runs WHERE run = 'hosts'").ok());
    ASSERT_TRUE(db.exec("INSERT INTO telemetry_host (ts_ns, host, body) SELECT started_ns - 1, "
                        "'hostD', '{}' FROM runs WHERE run = 'hosts'").ok());
  }
  auto runs = run_cli({"--config", bus.config_path, "runs"}, 20s);
  EXPECT_EQ(runs.exit_code, 0) << runs.describe();
  std::map<std::string, std::string> lines{{"hostB", "hostB 2 results from 1 worker, telemetry"},
                                           {"hostC", "hostC telemetry only"},
                                           {here, here + " 6 results from 1 worker"}};
  std::string expected;  // hosts in name order
  for (const auto& [host, line] : lines) expected += (expected.empty() ? "" : "; ") + line;
  EXPECT_NE(runs.stdout_text.find("  hosts: " + expected + "\n"), std::string::npos)
      << runs.stdout_text;
  EXPECT_EQ(runs.stdout_text.find("hostD"), std::string::npos) << runs.stdout_text;
  auto status = run_cli({"--config", bus.config_path, "status", "hosts"}, 20s);
  EXPECT_EQ(status.exit_code, 0) << status.describe();
  EXPECT_NE(status.stdout_text.find("  hosts: " + expected + "\n"), std::string::npos)
      << status.stdout_text;
  auto json = run_cli({"--config", bus.config_path, "status", "hosts", "--json"}, 20s);
  EXPECT_NE(json.stdout_text.find(R"("workers_by_host":{"hostB":1,)"), std::string::npos)
      << json.stdout_text;
  EXPECT_NE(json.stdout_text.find(R"("telemetry_by_host":{"hostB":1,"hostC":1})"),
            std::string::npos)
      << json.stdout_text;
}

TEST(NightOperator, WatchBeforeAnyRunSaysSoAndExitsZero) {
  auto bus = testing::make_test_bus(kSmallRun);
  auto watch = run_cli({"--config", bus.config_path, "watch", "-n", "1"}, 20s);
  EXPECT_EQ(watch.exit_code, 0) << watch.describe();
  EXPECT_NE(watch.stdout_text.find("does not exist"), std::string::npos) << watch.stdout_text;
}

TEST(NightOperator, EstimateUsesStoredTimingsAndGuessesWithoutThem) {
  const auto& bus = finished_run();
  auto known = run_cli({"--config", bus.config_path, "estimate", "--workers", "2"}, 20s);
  EXPECT_EQ(known.exit_code, 0) << known.describe();
  // One row per timeframe: 2 symbols x 1 horizon x (1 trial + final) = 4 jobs.
  for (const char* tf : {"\n1h ", "\n4h "}) {
    auto row = known.stdout_text.find(tf);
    ASSERT_NE(row, std::string::npos) << known.stdout_text;
    std::string line = known.stdout_text.substr(row + 1, known.stdout_text.find('\n', row + 1) - row - 1);
    EXPECT_NE(line.find(" 4 "), std::string::npos) << line;
    EXPECT_EQ(line.find("no history"), std::string::npos) << line;  // the run stored timings
  }
  EXPECT_NE(known.stdout_text.find("estimated wall time with 2 workers"), std::string::npos);

  auto fresh = testing::make_test_bus(kSmallRun);
  auto guess = run_cli({"--config", fresh.config_path, "estimate"}, 20s);
  EXPECT_EQ(guess.exit_code, 0) << guess.describe();
  EXPECT_EQ(count(guess.stdout_text, "no history"), 2u) << guess.stdout_text;
}

TEST(NightOperator, HealthSeesTheBrokerAndThePersisterAndMissesAStoppedOne) {
  auto bus = testing::make_test_bus(kSmallRun);
  ChildProcess broker({testing::nightshift_binary(), "--config", bus.config_path, "broker"});
  ASSERT_TRUE(broker.wait_for_output("broker up", 10s)) << broker.stderr_text();
  ChildProcess persister({testing::nightshift_binary(), "--config", bus.config_path, "persister"});
  ASSERT_TRUE(persister.wait_for_output("persister up", 15s)) << persister.stderr_text();

  auto up = run_cli({"--config", bus.config_path, "health", "--window", "3"}, 20s);
  EXPECT_EQ(up.exit_code, 0) << up.describe();
  EXPECT_NE(up.stdout_text.find("broker     up at " + bus.config.bus.control), std::string::npos)
      << up.stdout_text;
  EXPECT_NE(up.stdout_text.find("persister  alive"), std::string::npos) << up.stdout_text;
  EXPECT_NE(up.stdout_text.find("scheduler  not heard"), std::string::npos) << up.stdout_text;

  // Alerts are published on change: one that fired before health started
  // listening is active until its resolution arrives, however long ago.
  zmq::context_t context(1);
  auto publisher = bus::Publisher::connect(context, bus.config.bus, bus::self_source("telemetry"));
  ASSERT_TRUE(publisher.ok()) << publisher.error();
  Alert alert;
  alert.level = "warning";
  alert.state = "firing";
  alert.host = "testhost";
  alert.metric = "gpu0.temp_c";
  alert.value = 75;
  alert.threshold = 70;
  alert.message = "gpu0 at 75 C (warning at 70 C)";
  const std::string topic = topics::alert(alert.level, alert.host, alert.metric);
  auto stored = [&](int64_t n) {
    for (int i = 0; i < 100; ++i) {
      publisher->publish(topic, alert);
      std::this_thread::sleep_for(100ms);
      auto store = ResultsStore::open_read_only(bus.config.storage.results_db);
      auto rows = store ? store->db().query_int("SELECT COUNT(*) FROM alerts WHERE body LIKE '%" +
                                                alert.state + "%'")
                        : Result<int64_t>(make_error("no database"));
      if (rows && *rows >= n) return true;
    }
    return false;
  };
  ASSERT_TRUE(stored(1));
  std::this_thread::sleep_for(1s);
  auto firing = run_cli({"--config", bus.config_path, "health", "--window", "1"}, 20s);
  EXPECT_NE(firing.stdout_text.find("alerts     1 active"), std::string::npos) << firing.stdout_text;
  EXPECT_NE(firing.stdout_text.find(alert.message), std::string::npos) << firing.stdout_text;
  alert.state = "resolved";
  ASSERT_TRUE(stored(1));
  auto resolved = run_cli({"--config", bus.config_path, "health", "--window", "1"}, 20s);
  EXPECT_NE(resolved.stdout_text.find("alerts     0 active"), std::string::npos)
      << resolved.stdout_text;

  auto stats = run_cli({"--config", bus.config_path, "broker", "--stats"}, 20s);
  EXPECT_EQ(stats.exit_code, 0) << stats.describe();
  auto counters = nlohmann::json::parse(stats.stdout_text, nullptr, false);
  ASSERT_TRUE(counters.is_object()) << stats.stdout_text;
  EXPECT_TRUE(counters.contains("devices")) << stats.stdout_text;
  EXPECT_TRUE(counters.contains("control")) << stats.stdout_text;

  EXPECT_EQ(persister.stop(), 0);
  auto down = run_cli({"--config", bus.config_path, "health", "--window", "3"}, 20s);
  EXPECT_EQ(down.exit_code, 1) << down.describe();
  EXPECT_NE(down.stdout_text.find("persister  not heard"), std::string::npos) << down.stdout_text;
}

TEST(NightOperator, ConfigCreateAndEditsWriteAValidFile) {
  std::string dir = testing::make_temp_dir();
  std::string path = dir + "/sub/night.yaml";
  auto cfg = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", path, "config"});
    return run_cli(args, 20s);
  };
  auto created = run_cli({"config", "create", path}, 20s);
  EXPECT_EQ(created.exit_code, 0) << created.describe();
  EXPECT_NE(created.stdout_text.find("wrote " + path), std::string::npos);
  auto loaded = config::load_config(path);
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_EQ(loaded->symbols.size(), 6u);
  // Every listed timeframe gets a history its 5 folds and Yahoo can serve.
  EXPECT_EQ(loaded->fetcher.history_days_for("1m"), 29);
  EXPECT_EQ(loaded->fetcher.history_days_for("1d"), 1825);

  EXPECT_EQ(cfg({"add-symbol", "BNBUSDT"}).exit_code, 0);
  EXPECT_EQ(cfg({"set-timeframes", "15m", "1h"}).exit_code, 0);
  EXPECT_EQ(cfg({"set-thresholds", "--min-auc", "0.55", "--max-brier", "0.25"}).exit_code, 0);
  loaded = config::load_config(path);
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_EQ(loaded->symbols.back(), "BNBUSDT");
  EXPECT_EQ(loaded->symbols.size(), 7u);
  EXPECT_EQ(loaded->timeframes, (std::vector<std::string>{"15m", "1h"}));
  EXPECT_DOUBLE_EQ(loaded->promote_if.min_auc, 0.55);
  EXPECT_DOUBLE_EQ(loaded->promote_if.max_brier, 0.25);
  EXPECT_DOUBLE_EQ(loaded->promote_if.min_acc, 0.50);  // untouched
  // Numbers are written as typed, not as 0.55000000000000004.
  EXPECT_NE(read_text(path).find("min_auc: 0.55\n"), std::string::npos) << read_text(path);

  auto valid = run_cli({"config", "validate", path}, 20s);
  EXPECT_EQ(valid.exit_code, 0) << valid.describe();
  EXPECT_NE(valid.stdout_text.find("7 symbols x 2 timeframes x 3 horizons"), std::string::npos)
      << valid.stdout_text;
}

TEST(NightOperator, ConfigShowPrintsTheFileWithTheEnvironmentAsYamlThatLoadsBack) {
  std::string path = testing::make_temp_dir() + "/night.yaml";
  std::ofstream(path) << "symbols: [AAA, BBB]\nnum_workers: 2\nfetcher: {history_days: 90}\n";
  auto shown = run_cli({"config", "show", path}, 20s,
                       {{"NIGHTSHIFT_WORKERS", "5"}, {"NIGHTSHIFT_LOG_LEVEL", "debug"}});
  ASSERT_EQ(shown.exit_code, 0) << shown.describe();
  EXPECT_NE(shown.stdout_text.find("# num_workers from the environment: NIGHTSHIFT_WORKERS"),
            std::string::npos)
      << shown.stdout_text;
  auto back = config::load_config_text(shown.stdout_text, "shown");
  ASSERT_TRUE(back) << back.error() << "\n" << shown.stdout_text;
  EXPECT_EQ(back->symbols, (std::vector<std::string>{"AAA", "BBB"}));  // from the file
  EXPECT_EQ(back->fetcher.history_days, 90);
  EXPECT_EQ(back->num_workers, 5);  // the environment over the file
  EXPECT_EQ(back->logging.level, "debug");
  EXPECT_EQ(back->bus.pipeline_hwm, config::Config{}.bus.pipeline_hwm);  // a default
  // Every key, not only those the file names.
  EXPECT_NE(shown.stdout_text.find("circuit_cooldown_s: 600"), std::string::npos);
  EXPECT_NE(shown.stdout_text.find("binance_weight_budget_1m: 1200"), std::string::npos);

  auto defaults = run_cli({"config", "show"}, 20s);
  ASSERT_EQ(defaults.exit_code, 0) << defaults.describe();
  EXPECT_NE(defaults.stdout_text.find("# effective configuration of the built-in defaults"),
            std::string::npos);
  EXPECT_NE(defaults.stdout_text.find("num_workers: 0\n"), std::string::npos);

  auto invalid = run_cli({"config", "show", path}, 20s, {{"NIGHTSHIFT_WORKERS", "many"}});
  expect_one_line_error(invalid, {"NIGHTSHIFT_WORKERS", "num_workers", "expected an integer"}, 1);
}

TEST(NightOperator, ConfigEditsThatWouldBreakTheFileAreRefusedAndLeaveItUnchanged) {
  std::string dir = testing::make_temp_dir();
  std::string path = dir + "/night.yaml";
  ASSERT_EQ(run_cli({"config", "create", path}, 20s).exit_code, 0);
  const std::string before = read_text(path);
  auto cfg = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", path, "config"});
    return run_cli(args, 20s);
  };
  expect_one_line_error(cfg({"set-timeframes", "1h", "2h"}),
                        {"edit rejected, file unchanged", "unknown timeframe '2h'"}, 1);
  expect_one_line_error(cfg({"set-timeframes", "1h", "1h"}), {"'1h' is listed twice"}, 1);
  expect_one_line_error(cfg({"set-thresholds", "--min-auc", "1.5"}),
                        {"promote_if.min_auc", "1.5 is out of range"}, 1);
  expect_one_line_error(cfg({"set-thresholds"}), {"--min-auc"}, 2);
  expect_one_line_error(cfg({"add-symbol", "BTCUSDT"}), {"BTCUSDT is already listed"}, 1);
  expect_one_line_error(run_cli({"config", "create", path}, 20s), {path, "already exists"}, 1);
  EXPECT_EQ(read_text(path), before);

  std::string missing = dir + "/missing.yaml";
  expect_one_line_error(run_cli({"--config", missing, "config", "add-symbol", "X"}, 20s),
                        {missing, "cannot open config file"}, 1);
  EXPECT_EQ(run_cli({"config", "create", path, "--force"}, 20s).exit_code, 0);
}

TEST(NightOperator, ConfigOptimizeSizesWorkersToThisMachine) {
  std::string path = testing::make_temp_dir() + "/night.yaml";
  ASSERT_EQ(run_cli({"config", "create", path}, 20s).exit_code, 0);
  const std::string before = read_text(path);
  auto dry = run_cli({"--config", path, "config", "optimize", "--dry-run"}, 20s);
  EXPECT_EQ(dry.exit_code, 0) << dry.describe();
  EXPECT_NE(dry.stdout_text.find("cores -> "), std::string::npos) << dry.stdout_text;
  EXPECT_EQ(read_text(path), before);

  auto applied = run_cli({"--config", path, "config", "optimize"}, 20s);
  EXPECT_EQ(applied.exit_code, 0) << applied.describe();
  auto loaded = config::load_config(path);
  ASSERT_TRUE(loaded) << loaded.error();
  // The arithmetic is config_editor_test's; here, that the command sizes
  // for this machine's cores and RAM and writes what it printed.
  int cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  uint64_t ram = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                 static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
  auto plan = config::plan_for_machine(cores, ram);
  EXPECT_EQ(loaded->num_workers, std::max(1, cores - 1));
  EXPECT_EQ(loaded->max_memory_per_process, plan.memory_per_process_gb);
  EXPECT_NE(dry.stdout_text.find(plan.reason), std::string::npos) << dry.stdout_text;
  EXPECT_EQ(read_text(path).find("0000000"), std::string::npos) << read_text(path);
}

}  // namespace
}  // namespace nightshift
