// Gradient-boosted trees and the median pruner through whole night runs,
// with real processes (broker, fetcher, scheduler, persister, real
// workers): an xgb study on a planted signal is promoted and its artifact
// (nightshift's metadata beside XGBoost's own JSON model) scores bars with
// `nightshift predict`; a search with the median pruner stores `pruned`
// trials with fewer folds, and the run's counts still add up.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "schema/results_store.h"
#include "stages/fetcher/synthetic_source.h"
#include "tests/integration/night/cli_run.h"
#include "tests/integration/night/night_helpers.h"

namespace nightshift {
namespace {

using namespace std::chrono_literals;

int64_t query(const testing::TestBus& bus, const std::string& sql) {
  return testing::query_db(bus.config.storage.results_db, sql);
}

std::string text_of(const testing::TestBus& bus, const std::string& sql) {
  auto store = ResultsStore::open_read_only(bus.config.storage.results_db);
  if (!store) return "";
  auto stmt = store->db().prepare(sql);
  if (!stmt) return "";
  auto has = stmt->step();
  return has && *has ? stmt->column_text(0) : "";
}

const char* kPlantedYaml = R"(
symbols: [AAA, BBB]
timeframes: [1h]
horizons: [1]
models: [xgb]
fetcher:
  history_days: 200
  synthetic_signals: {AAA: {strength: 0.3}}
scheduler:
  trials_per_study: 2
telemetry:
  enabled: false
)";

TEST(NightXgb, APlantedSignalIsPromotedAndItsArtifactPredicts) {
  auto bus = testing::make_test_bus(kPlantedYaml);
  auto run = testing::run_cli({"--config", bus.config_path, "run", "--run-id", "xgb", "--workers", "2"}, 240s);
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials WHERE kind = 'trial'"), 4);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM failures"), 0);
  EXPECT_EQ(query(bus, "SELECT promoted FROM models WHERE study = 'AAA.1h.h1.xgb'"), 1)
      << text_of(bus, "SELECT decision FROM models WHERE study = 'AAA.1h.h1.xgb'");
  std::cout << "[ figures  ] AAA (planted 0.3): holdout auc "
            << text_of(bus, "SELECT json_extract(metrics, '$.auc') FROM models WHERE study = 'AAA.1h.h1.xgb'")
            << "; BBB (random walk): "
            << text_of(bus, "SELECT decision FROM models WHERE study = 'BBB.1h.h1.xgb'") << "\n";

  const std::string artifact = text_of(bus, "SELECT artifact_path FROM models WHERE study = 'AAA.1h.h1.xgb'");
  ASSERT_FALSE(artifact.empty());
  std::filesystem::path booster = std::filesystem::path(artifact).replace_extension(".xgb.json");
  ASSERT_TRUE(std::filesystem::exists(booster)) << booster;
  std::ifstream meta_in(artifact);
  std::stringstream meta;
  meta << meta_in.rdbuf();
  EXPECT_NE(meta.str().find("\"family\": \"xgb\""), std::string::npos);

  fetcher::SyntheticSpec spec;
  spec.symbol = "AAA";
  spec.bar_count = 300;
  spec.signal_strength = 0.3;
  Bars bars = fetcher::generate_synthetic(spec);
  const std::string csv = bus.dir + "/bars.csv";
  {
    std::ofstream out(csv);
    out << "ts,open,high,low,close,volume\n";
    for (std::size_t i = 0; i < bars.size(); ++i) {
      out << bars.ts[i] << ',' << bars.open[i] << ',' << bars.high[i] << ',' << bars.low[i] << ','
          << bars.close[i] << ',' << bars.volume[i] << '\n';
    }
  }
  auto predict = testing::run_cli({"predict", "--model", artifact, "--csv", csv, "--last", "3"}, 30s);
  ASSERT_EQ(predict.exit_code, 0) << predict.describe();
  std::istringstream lines(predict.stdout_text);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "ts,p_up,horizon_bars,timeframe");
  int rows = 0;
  while (std::getline(lines, line)) {
    ++rows;
    double p = std::stod(line.substr(line.find(',') + 1));
    EXPECT_GT(p, 0.0);
    EXPECT_LT(p, 1.0);
  }
  EXPECT_EQ(rows, 3);

  std::filesystem::remove(booster);  // the metadata alone cannot predict
  auto orphan = testing::run_cli({"predict", "--model", artifact, "--csv", csv}, 30s);
  testing::expect_one_line_error(orphan, {"loading the booster"}, 1);
}

const char* kPrunedYaml = R"(
symbols: [AAA]
timeframes: [1h]
horizons: [1]
models: [xgb]
fetcher:
  history_days: 200
scheduler:
  sampler: random
  trials_per_study: 16
  pruner: median
  pruner_startup_trials: 3
  pruner_warmup_folds: 1
telemetry:
  enabled: false
)";

TEST(NightXgb, TheMedianPrunerStoresPrunedTrialsWithFewerFolds) {
  auto bus = testing::make_test_bus(kPrunedYaml);
  // One worker: each trial is sent after the one before it is stored, so
  // every trial after the third gets thresholds.
  auto run = testing::run_cli({"--config", bus.config_path, "run", "--run-id", "prune", "--workers", "1"}, 240s);
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  const int64_t trials = query(bus, "SELECT COUNT(*) FROM trials WHERE kind = 'trial'");
  const int64_t pruned = query(bus, "SELECT COUNT(*) FROM trials WHERE status = 'pruned'");
  EXPECT_EQ(trials, 16);  // pruned trials count toward trials_per_study
  EXPECT_GE(pruned, 1);
  EXPECT_LE(pruned, 13);
  // Pruned: after fold 1 at the earliest (warm-up 1), never after the last.
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials WHERE status = 'pruned' AND "
                       "(json_array_length(folds) < 2 OR json_array_length(folds) >= 5)"),
            0);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials WHERE status = 'ok' AND kind = 'trial' AND "
                       "json_array_length(folds) != 5"),
            0);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials WHERE status = 'pruned' AND trial < 3"), 0);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials WHERE status = 'pruned' AND kind = 'final'"), 0);
  // The final fit takes the best completed trial's params, never a pruned one's.
  EXPECT_EQ(text_of(bus, "SELECT params FROM trials WHERE trial = -1"),
            text_of(bus, "SELECT params FROM trials WHERE kind = 'trial' AND status = 'ok' "
                         "ORDER BY json_extract(metrics, '$.auc') DESC, trial LIMIT 1"));
  EXPECT_EQ(query(bus, "SELECT done_jobs FROM runs WHERE run = 'prune'"), 17);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM runs WHERE status = 'completed'"), 1);
  EXPECT_NE(run.stdout_text.find(std::to_string(pruned) + " trials pruned"), std::string::npos) << run.stdout_text;

  auto status = testing::run_cli({"--config", bus.config_path, "status", "prune", "--json"}, 30s);
  ASSERT_EQ(status.exit_code, 0) << status.describe();
  EXPECT_NE(status.stdout_text.find("\"pruned_trials\":" + std::to_string(pruned)), std::string::npos)
      << status.stdout_text;
  EXPECT_NE(status.stdout_text.find("\"done\":17"), std::string::npos) << status.stdout_text;
  std::cout << "[ figures  ] " << pruned << " of 16 trials pruned; folds run by pruned trials: "
            << query(bus, "SELECT SUM(json_array_length(folds)) FROM trials WHERE status = 'pruned'") << "\n";
}

}  // namespace
}  // namespace nightshift
