// The result cache in the results database (docs/cache.md): the key, the
// writer storing entries for new results and copying rows for hits (and
// refusing expired or missing entries), and the cleanup of expired and
// least recently used entries.
#include <gtest/gtest.h>

#include "schema/dispatch_token.h"
#include "schema/result_cache.h"
#include "stages/persister/batch_writer.h"
#include "tests/support/result_rows.h"

namespace nightshift::persister {
namespace {

int64_t count(ResultsStore& store, const std::string& sql) { return *store.db().query_int(sql); }

TEST(ResultCacheKey, EveryFieldOfTheIdentityChangesTheKey) {
  Job spec;
  spec.source = "synthetic";
  spec.symbol = "AAA";
  spec.timeframe = "1h";
  spec.horizon = 1;
  spec.model = "logreg_l2";
  auto key = [&](const Job& j, JobKind kind = JobKind::trial, std::string params = R"({"C":1.0})",
                 std::string fingerprint = "fp", std::string gates = "g", std::string code = "v1") {
    return result_cache_key(cache_identity(j, kind, params, fingerprint, gates, code));
  };
  const std::string base = key(spec);
  EXPECT_EQ(base.size(), 32u);
  EXPECT_EQ(key(spec), base);  // deterministic
  EXPECT_NE(key(spec, JobKind::final_fit), base);
  EXPECT_NE(key(spec, JobKind::trial, R"({"C":2.0})"), base);
  EXPECT_NE(key(spec, JobKind::trial, R"({"C":1.0})", "fp2"), base);
  EXPECT_EQ(key(spec, JobKind::trial, R"({"C":1.0})", "fp", "other gates"), base);  // trials: no gates
  EXPECT_NE(key(spec, JobKind::final_fit, R"({"C":1.0})", "fp", "other gates"),
            key(spec, JobKind::final_fit));
  EXPECT_NE(key(spec, JobKind::trial, R"({"C":1.0})", "fp", "g", "v2"), base);
  for (auto change : std::vector<std::function<void(Job&)>>{
           [](Job& j) { j.symbol = "BBB"; }, [](Job& j) { j.timeframe = "4h"; },
           [](Job& j) { j.horizon = 3; }, [](Job& j) { j.model = "logreg_enet"; },
           [](Job& j) { j.source = "csv"; }, [](Job& j) { j.feature_spec = "v2"; },
           [](Job& j) { j.cv.scheme = CvScheme::purged_kfold; }, [](Job& j) { j.cv.n_splits = 4; },
           [](Job& j) { j.cv.embargo_minutes = 60; }, [](Job& j) { j.cv.holdout_fraction = 0.3; }}) {
    Job changed = spec;
    change(changed);
    EXPECT_NE(key(changed), base);
  }
  spec.key.trial = 7;  // which trial of which run does not matter
  spec.key.run = "other";
  EXPECT_EQ(key(spec), base);
}

class ResultCacheWriter : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = ResultsStore::open_for_writing(testing::temp_results_db());
    ASSERT_TRUE(opened.ok()) << opened.error();
    store_.emplace(std::move(*opened));
    guard_.emplace(*store_);
    batch_.emplace(*store_, &*guard_);
    batch_->set_result_cache(ResultCachePolicy{true, 1000, "gates", "v1"});
    key_ = *new_dispatch_key();
  }

  void plan(const std::string& run) {
    RunCheckpoint c;
    c.run = run;
    c.dispatch_key = key_;
    for (int64_t trial : {0, 1, 2, -1}) {
      Job job;
      job.key = JobKey{run, "S", trial};
      job.kind = trial < 0 ? JobKind::final_fit : JobKind::trial;
      job.symbol = "AAA";
      job.timeframe = "1h";
      job.model = "logreg_l2";
      job.source = "synthetic";
      c.jobs.push_back(JobState{job, WorkState::pending, ""});
    }
    batch_->add(c);
    ASSERT_TRUE(batch_->commit(1).ok());
  }

  JobResult result(const std::string& run, int64_t trial, double c, bool hit) {
    JobResult r = testing::sample_result("S", trial);
    r.key.run = run;
    r.params = {{"C", c}};
    r.data_fingerprint = "fp";
    r.cache_hit = hit;
    if (hit) {
      r.worker = "cache";
      r.metrics.clear();
      r.folds.clear();
    }
    r.dispatch_token = dispatch_token(key_, r.key, r.attempt);
    return r;
  }

  CommitOutcome commit(JobResult r, int64_t now_ns) {
    batch_->add(std::move(r));
    auto outcome = batch_->commit(now_ns);
    EXPECT_TRUE(outcome.ok()) << outcome.error();
    return outcome ? std::move(*outcome) : CommitOutcome{};
  }

  std::optional<ResultsStore> store_;
  std::optional<ResultGuard> guard_;
  std::optional<BatchWriter> batch_;
  std::string key_;
};

TEST_F(ResultCacheWriter, ANewResultIsRememberedAndAHitCopiesItsRows) {
  plan("r1");
  commit(result("r1", 0, 1.0, false), 100);
  EXPECT_EQ(count(*store_, "SELECT COUNT(*) FROM result_cache WHERE source_run = 'r1' AND "
                           "source_trial = 0 AND expires_ns = 1100 AND symbol = 'AAA'"),
            1);
  plan("r2");
  auto outcome = commit(result("r2", 0, 1.0, true), 500);
  EXPECT_EQ(outcome.new_rows, 1u);
  EXPECT_EQ(count(*store_, "SELECT COUNT(*) FROM trials WHERE run = 'r2' AND cache_hit = 1 AND "
                           "worker = 'cache' AND metrics = (SELECT metrics FROM trials WHERE run = 'r1')"),
            1);
  EXPECT_EQ(count(*store_, "SELECT hits FROM result_cache"), 1);
  EXPECT_EQ(count(*store_, "SELECT last_used_ns FROM result_cache"), 500);
  EXPECT_EQ(count(*store_, "SELECT COUNT(*) FROM result_cache"), 1);  // a hit is no new entry

  // The same params in another trial: the same key. Past the TTL the hit
  // is refused and stored as a failed attempt, which the scheduler retries.
  auto expired = commit(result("r2", 1, 1.0, true), 1100);
  EXPECT_EQ(expired.new_rows, 0u);
  EXPECT_EQ(count(*store_, "SELECT COUNT(*) FROM failures WHERE run = 'r2' AND trial = 1 AND "
                           "reason LIKE 'cache hit not stored: its result cache entry expired'"),
            1);
  EXPECT_EQ(count(*store_, "SELECT COUNT(*) FROM trials WHERE run = 'r2' AND trial = 1"), 0);
  // A hit no entry stands for (other params: another key) is refused too.
  commit(result("r2", 2, 9.0, true), 600);
  EXPECT_EQ(count(*store_, "SELECT COUNT(*) FROM failures WHERE run = 'r2' AND trial = 2 AND "
                           "reason LIKE '%no result cache entry under its key'"),
            1);
}

TEST_F(ResultCacheWriter, AFinalFitHitCopiesTheModelAndLeavesPromotionToTheRun) {
  plan("r1");
  JobResult final_fit = result("r1", -1, 1.0, false);
  final_fit.metrics = {{"auc", 0.6}, {"auc_p_value", 0.01}};
  commit(final_fit, 100);
  EXPECT_EQ(count(*store_, "SELECT COUNT(*) FROM result_cache WHERE kind = 'final' AND artifact_path = 'models/x.bin'"), 1);
  plan("r2");
  JobResult hit = result("r2", -1, 1.0, true);
  commit(hit, 200);
  EXPECT_EQ(count(*store_, "SELECT COUNT(*) FROM models WHERE run = 'r2' AND artifact_path = 'models/x.bin' "
                           "AND gates_passed = 1 AND promoted = 0 AND p_value = 0.01"),
            1);
}

TEST_F(ResultCacheWriter, ResultsWithoutAFingerprintOrWithTheCacheOffAreNotRemembered) {
  plan("r1");
  JobResult no_fingerprint = result("r1", 0, 1.0, false);
  no_fingerprint.data_fingerprint.clear();
  commit(no_fingerprint, 100);
  batch_->set_result_cache(ResultCachePolicy{false, 1000, "gates", "v1"});
  commit(result("r1", 1, 2.0, false), 100);
  EXPECT_EQ(count(*store_, "SELECT COUNT(*) FROM result_cache"), 0);
  commit(result("r1", 2, 1.0, true), 100);
  EXPECT_EQ(count(*store_, "SELECT COUNT(*) FROM failures WHERE reason LIKE '%the result cache is disabled'"), 1);
}

TEST_F(ResultCacheWriter, CleanupDeletesExpiredThenTheLeastRecentlyUsedAndCountsThem) {
  for (int i = 0; i < 5; ++i) {
    CacheEntry e;
    e.key = "k" + std::to_string(i);
    e.source_run = "r";
    e.source_study = "S";
    e.created_ns = i;
    e.expires_ns = i < 2 ? 50 : 1000;  // k0, k1 expire at 50
    e.last_used_ns = 10 - i;           // k4 is the least recently used of the rest
    ASSERT_TRUE(store_->put_cache_entry(e).ok());
  }
  auto cleaned = store_->clean_cache(60, 2, "night", 100);
  ASSERT_TRUE(cleaned.ok()) << cleaned.error();
  EXPECT_EQ(cleaned->expired, 2);
  EXPECT_EQ(cleaned->evicted, 1);
  EXPECT_EQ(count(*store_, "SELECT COUNT(*) FROM result_cache WHERE key IN ('k2', 'k3')"), 2);
  EXPECT_EQ(count(*store_, "SELECT expired FROM cache_cleanups WHERE run = 'night'"), 2);
  EXPECT_EQ(count(*store_, "SELECT evicted FROM cache_cleanups WHERE run = 'night'"), 1);
  auto again = store_->clean_cache(2000, 2, "night", 100);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->expired, 2);
  EXPECT_EQ(count(*store_, "SELECT expired FROM cache_cleanups WHERE run = 'night'"), 4);
  auto summary = store_->cache_summary(0);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->entries, 0);
  EXPECT_EQ(summary->expired, 4);
  EXPECT_EQ(summary->evicted, 1);
}

}  // namespace
}  // namespace nightshift::persister
