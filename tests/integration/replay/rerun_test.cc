// nightshift rerun against real processes: a small demo-like night (two
// synthetic symbols, real workers, TPE past two startup trials) is run once,
// then re-run from what the database stored:
//  - as stored: zero differences, exit 0, under the exact rule (same binary);
//  - after one stored metric of the original is altered: exactly that one
//    difference (study, trial, field, old, new), exit 1;
//  - after one bar the original used is altered in the market cache: one
//    line naming the dataset and both fingerprints, exit 2, nothing started;
//  - for a run id that is not there: one line, exit 2.
#include <gtest/gtest.h>

#include <sstream>

#include "schema/results_store.h"
#include "tests/integration/night/cli_run.h"
#include "tests/integration/night/night_helpers.h"
#include "tests/support/child_process.h"

namespace nightshift {
namespace {

using namespace std::chrono_literals;
using testing::run_cli;

const char* kYaml = R"(
symbols: [BTCUSDT, ETHUSDT]
timeframes: [1h]
horizons: [1]
models: [logreg_l2]
scheduler:
  trials_per_study: 4
  sampler: tpe
  tpe: {n_startup_trials: 2}
  lease_s: 120
  grace_s: 5
  checkpoint_interval_s: 2
fetcher:
  source: synthetic
  history_days: 400
  synthetic_signals:
    BTCUSDT: {strength: 0.3}
telemetry:
  enabled: false
)";

const std::string kStudy = "ETHUSDT.1h.h1.logreg_l2";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The lines of the difference table (after its header), as printed.
std::vector<std::string> difference_rows(const std::string& stdout_text) {
  auto lines = lines_of(stdout_text);
  std::vector<std::string> rows;
  bool in_table = false;
  for (const auto& line : lines) {
    if (in_table && !line.empty()) rows.push_back(line);
    if (line == "study\ttrial\tfield\tstored\trerun") in_table = true;
  }
  return rows;
}

void exec_sql(const std::string& db, const std::string& sql) {
  sql::OpenOptions options;
  options.create = false;
  auto handle = sql::Database::open(db, options);
  ASSERT_TRUE(handle) << handle.error();
  auto done = handle->exec(sql);
  ASSERT_TRUE(done) << done.error();
  ASSERT_GT(handle->changes(), 0) << sql;
}

TEST(Rerun, ReproducesAStoredRunAndReportsExactlyWhatWasAltered) {
  auto bus = testing::make_test_bus(kYaml);
  const std::string& db = bus.config.storage.results_db;
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", bus.config_path});
    return run_cli(args, 240s);
  };

  auto first = cli({"run", "--run-id", "orig", "--workers", "2"});
  ASSERT_EQ(first.exit_code, 0) << first.describe();

  // As stored: identical, bit for bit.
  auto same = cli({"rerun", "orig", "--workers", "2"});
  EXPECT_EQ(same.exit_code, 0) << same.describe();
  EXPECT_NE(same.stdout_text.find("rule: exact"), std::string::npos) << same.stdout_text;
  EXPECT_NE(same.stdout_text.find("no differences"), std::string::npos) << same.stdout_text;
  EXPECT_NE(same.stdout_text.find("compared 10 results and 2 final fits"), std::string::npos)
      << same.stdout_text;
  {
    auto store = ResultsStore::open_read_only(db);
    ASSERT_TRUE(store);
    auto provenance = store->provenance("orig-rerun1");
    ASSERT_TRUE(provenance && *provenance);
    EXPECT_EQ((*provenance)->rerun_of.value_or(""), "orig");
    EXPECT_FALSE((*provenance)->build_id.empty());
    EXPECT_NE((*provenance)->config_yaml.find("ETHUSDT"), std::string::npos);
  }

  // One stored metric altered: that difference and no other.
  exec_sql(db, "UPDATE trials SET metrics = json_set(metrics, '$.brier', "
               "json_extract(metrics, '$.brier') + 0.125) WHERE run = 'orig' AND study = '" +
                   kStudy + "' AND trial = 1");
  auto altered = cli({"rerun", "orig", "--workers", "2"});
  EXPECT_EQ(altered.exit_code, 1) << altered.describe();
  auto rows = difference_rows(altered.stdout_text);
  ASSERT_EQ(rows.size(), 1u) << altered.stdout_text;
  EXPECT_EQ(rows[0].rfind(kStudy + "\t1\tmetrics.brier\t", 0), 0u) << rows[0];
  {
    std::istringstream row(rows[0]);
    std::vector<std::string> fields;
    for (std::string f; std::getline(row, f, '\t');) fields.push_back(f);
    ASSERT_EQ(fields.size(), 5u) << rows[0];
    EXPECT_NEAR(std::stod(fields[3]) - std::stod(fields[4]), 0.125, 1e-12) << rows[0];
  }
  EXPECT_NE(altered.stdout_text.find("1 difference:"), std::string::npos) << altered.stdout_text;

  // One bar the run used altered in the market cache: a clear stop, no run.
  int64_t first_ts = testing::query_db(db, "SELECT data_first_ts FROM trials WHERE run = 'orig' AND study = '" +
                                               kStudy + "' AND trial = 0");
  ASSERT_GT(first_ts, 0);
  exec_sql(bus.config.storage.market_db,
           "UPDATE bars SET close = close * 1.001 WHERE symbol = 'ETHUSDT' AND timeframe = '1h' "
           "AND ts = " + std::to_string(first_ts + 50 * 3600));
  int64_t runs_before = testing::query_db(db, "SELECT COUNT(*) FROM runs");
  auto changed = cli({"rerun", "orig"});
  testing::expect_one_line_error(changed, {"ETHUSDT", "1h", "synthetic", "fingerprint", "not re-fetched"}, 2);
  EXPECT_EQ(testing::query_db(db, "SELECT COUNT(*) FROM runs"), runs_before);

  // A run that is not there.
  auto missing = cli({"rerun", "nosuchrun"});
  testing::expect_one_line_error(missing, {"no run 'nosuchrun'"}, 2);
}

}  // namespace
}  // namespace nightshift
