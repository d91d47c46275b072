// Retention over a real SQLite file: old telemetry and events go in several
// small transactions, new rows stay, a dry run deletes nothing, and a time
// budget stops a prune part way (the next one goes on).
#include <gtest/gtest.h>

#include "schema/results_store.h"
#include "schema/retention.h"
#include "tests/support/result_rows.h"

namespace nightshift {
namespace {

constexpr int64_t kDay = 86'400LL * 1'000'000'000LL;

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = ResultsStore::open_for_writing(testing::temp_results_db());
    ASSERT_TRUE(store) << store.error();
    store_ = std::make_unique<ResultsStore>(std::move(*store));
    now_ = 100 * kDay;
    auto tx = sql::Transaction::begin(store_->db());
    // 5000 rows 10 days old, then 100 rows 1 day old, in time order.
    for (int i = 0; i < 5100; ++i) {
      int64_t ts = i < 5000 ? now_ - 10 * kDay + i : now_ - kDay + i;
      ASSERT_TRUE(store_->put_telemetry("telemetry.host.h", ts, "{\"i\":1}"));
      ASSERT_TRUE(store_->put_event("telemetry.host.h", "telemetry.host", ts, "xyz"));
    }
    ASSERT_TRUE(tx->commit());
  }
  int64_t count(const std::string& table) { return *store_->db().query_int("SELECT COUNT(*) FROM " + table); }

  std::unique_ptr<ResultsStore> store_;
  int64_t now_ = 0;
};

TEST_F(RetentionTest, RulesFollowTheSettingsAndZeroKeepsAll) {
  auto rules = retention_rules(7, 30, now_);
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].table, "telemetry_host");
  EXPECT_EQ(rules[2].table, "events");
  EXPECT_EQ(rules[2].older_than_ns, now_ - 30 * kDay);
  EXPECT_TRUE(retention_rules(0, 0, now_).empty());
}

TEST_F(RetentionTest, PruneDeletesOnlyOldRowsInSmallTransactions) {
  for (const auto& rule : retention_rules(7, 7, now_)) {
    auto counted = count_prunable(store_->db(), rule);
    ASSERT_TRUE(counted) << counted.error();
    EXPECT_EQ(counted->rows, rule.table == "telemetry_gpu" ? 0 : 5000) << rule.table;
  }
  EXPECT_EQ(count("events"), 5100);  // the dry run deleted nothing

  PruneLimits limits;
  limits.first_batch_rows = 64;
  for (const auto& rule : retention_rules(7, 7, now_)) {
    auto pruned = prune(store_->db(), rule, limits);
    ASSERT_TRUE(pruned) << pruned.error();
    if (rule.table == "telemetry_gpu") continue;
    EXPECT_EQ(pruned->rows, 5000) << rule.table;
    EXPECT_EQ(pruned->bytes, rule.table == "events" ? 5000 * 3 : 5000 * 7);
    EXPECT_GT(pruned->batches, 1) << "one transaction for everything";
    EXPECT_TRUE(pruned->finished);
  }
  EXPECT_EQ(count("telemetry_host"), 100);
  EXPECT_EQ(count("events"), 100);
  EXPECT_EQ(*store_->db().query_int("SELECT MIN(ts_ns) FROM events"), now_ - kDay + 5000);
}

TEST_F(RetentionTest, ABudgetStopsPartWayAndTheNextPruneGoesOn) {
  RetentionRule rule{"events", now_ - 7 * kDay};
  PruneLimits limits;
  limits.budget = std::chrono::milliseconds(1);
  limits.first_batch_rows = 64;
  int rounds = 0;
  while (count("events") > 100 && rounds < 10'000) {
    auto pruned = prune(store_->db(), rule, limits);
    ASSERT_TRUE(pruned) << pruned.error();
    ++rounds;
  }
  EXPECT_EQ(count("events"), 100);
  EXPECT_GT(rounds, 1);
}

TEST_F(RetentionTest, AnUnknownTableIsRefused) {
  EXPECT_FALSE(prune(store_->db(), RetentionRule{"trials", now_}, PruneLimits{}));
  EXPECT_FALSE(count_prunable(store_->db(), RetentionRule{"runs; DROP TABLE runs", now_}));
}

}  // namespace
}  // namespace nightshift
