#include "stages/persister/batch_writer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "stages/persister/result_guard.h"
#include "tests/support/result_rows.h"

namespace nightshift::persister {
namespace {

std::string temp_db() { return testing::temp_results_db(); }

JobResult result(const std::string& study, int64_t trial, uint32_t attempt = 1,
                 ResultStatus status = ResultStatus::ok) {
  return testing::sample_result(study, trial, attempt, status);
}

int64_t count(ResultsStore& store, const std::string& sql) { return *store.db().query_int(sql); }

TEST(BatchWriter, RedeliveredResultsKeepExactlyOneRow) {
  auto store = ResultsStore::open_for_writing(temp_db());
  ASSERT_TRUE(store.ok()) << store.error();
  BatchWriter batch(*store);
  batch.add(result("S", 0));
  batch.add(result("S", 0, 2));  // the same job delivered again
  batch.add(result("S", -1));
  auto first = batch.commit(1);
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_EQ(first->new_rows, 2u);
  EXPECT_EQ(first->duplicates, 1u);
  EXPECT_EQ(first->results, 3u);  // all announced: the scheduler may have missed one
  batch.add(result("S", 0, 3));
  ASSERT_TRUE(batch.commit(2).ok());
  EXPECT_EQ(count(*store, "SELECT COUNT(*) FROM trials"), 2);
  EXPECT_EQ(count(*store, "SELECT attempt FROM trials WHERE trial = 0"), 1);
  EXPECT_EQ(count(*store, "SELECT gates_passed FROM models"), 1);
  EXPECT_EQ(count(*store, "SELECT promoted FROM models"), 0);  // until the run completes
}

// A checkpoint saying the run completed decides its promotions in the same
// transaction: the final fit's p-value against the run's FDR level.
TEST(BatchWriter, ACompletedCheckpointDecidesThePromotions) {
  for (double fdr_q : {0.05, 0.001}) {
    auto store = ResultsStore::open_for_writing(temp_db());
    ASSERT_TRUE(store.ok()) << store.error();
    BatchWriter batch(*store);
    batch.set_fdr_q(fdr_q);
    JobResult final_fit = result("S", -1);
    final_fit.metrics = {{"auc", 0.6}, {"auc_p_value", 0.01}};
    batch.add(final_fit);
    RunCheckpoint running;
    running.run = "r1";
    batch.add(running);
    ASSERT_TRUE(batch.commit(1).ok());
    EXPECT_EQ(count(*store, "SELECT promoted FROM models"), 0);
    RunCheckpoint completed = running;
    completed.status = RunStatus::completed;
    batch.add(completed);
    ASSERT_TRUE(batch.commit(2).ok());
    EXPECT_EQ(count(*store, "SELECT promoted FROM models"), fdr_q >= 0.01 ? 1 : 0) << fdr_q;
    EXPECT_EQ(count(*store, "SELECT studies_tested FROM runs WHERE run = 'r1'"), 1);
  }
}

// The persister gathers before it commits: many deliveries of the same jobs
// in one batch (a scheduler resending after lost announcements) still leave
// one row per job, holding the first delivery, and every one is announced.
// A trial the median pruner stopped is a trials row with status 'pruned',
// its folds and metrics kept; it is done (a stored attempt) for the
// scheduler, and never the study's best for the final fit. A final fit
// cannot be pruned: the persister's intake refuses one.
TEST(BatchWriter, APrunedTrialIsATrialsRowWithItsStatus) {
  auto store = ResultsStore::open_for_writing(temp_db());
  ASSERT_TRUE(store.ok()) << store.error();
  BatchWriter batch(*store);
  JobResult ok = result("S", 0);
  JobResult pruned = result("S", 1, 1, ResultStatus::pruned);
  pruned.reason = "";
  pruned.params = {{"C", 9}};
  pruned.metrics = {{"auc", 0.9}};  // a high partial AUC still is not the best
  batch.add(ok);
  batch.add(pruned);
  auto outcome = batch.commit(1);
  ASSERT_TRUE(outcome.ok()) << outcome.error();
  EXPECT_EQ(outcome->new_rows, 2u);
  EXPECT_EQ(count(*store, "SELECT COUNT(*) FROM trials WHERE status = 'pruned' AND trial = 1 AND "
                          "json_array_length(folds) = 1"),
            1);
  EXPECT_EQ(count(*store, "SELECT COUNT(*) FROM trials WHERE status = 'ok'"), 1);
  EXPECT_EQ(count(*store, "SELECT COUNT(*) FROM failures"), 0);
  auto attempt = store->stored_attempt(PersistedResult{pruned.key, 1, ResultStatus::pruned, "", "host/1"});
  ASSERT_TRUE(attempt.ok()) << attempt.error();
  EXPECT_EQ(attempt->value_or(0), 1u);
  auto best = store->best_trial_params("r1", "S");
  ASSERT_TRUE(best.ok() && best->has_value());
  EXPECT_EQ(best->value().at("C"), 0.5);
  auto finished = store->finished_trials("r1", "S");  // TPE sees both
  ASSERT_TRUE(finished.ok());
  EXPECT_EQ(finished->size(), 2u);
  auto completed = store->completed_fold_aucs("r1", "S");
  ASSERT_TRUE(completed.ok());
  ASSERT_EQ(completed->size(), 1u);
  EXPECT_EQ(completed->front(), std::vector<double>{0.61});
  auto counts = store->run_counts("r1");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->pruned_trials, 1);

  JobResult pruned_final = result("S", -1, 1, ResultStatus::pruned);
  EXPECT_EQ(content_problem(pruned_final, "."), "a final fit cannot be pruned");
  EXPECT_EQ(content_problem(pruned, "."), "");
}

TEST(BatchWriter, ManyRedeliveriesWithinOneBatchKeepOneRowPerJob) {
  auto store = ResultsStore::open_for_writing(temp_db());
  ASSERT_TRUE(store.ok()) << store.error();
  BatchWriter batch(*store);
  for (uint32_t attempt = 1; attempt <= 3; ++attempt) {
    for (int64_t trial = 0; trial < 100; ++trial) batch.add(result("S", trial, attempt));
  }
  auto outcome = batch.commit(1);
  ASSERT_TRUE(outcome.ok()) << outcome.error();
  EXPECT_EQ(outcome->new_rows, 100u);
  EXPECT_EQ(outcome->duplicates, 200u);
  EXPECT_EQ(outcome->results, 300u);
  EXPECT_EQ(outcome->committed.size(), 300u);
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(count(*store, "SELECT COUNT(*) FROM trials"), 100);
  EXPECT_EQ(count(*store, "SELECT COUNT(*) FROM trials WHERE attempt != 1"), 0);
}

// A batch handed over while an earlier one waits for a retry joins it: both
// commit together, in order, once the database is writable again.
TEST(BatchWriter, AHandedBatchJoinsTheOneAwaitingRetry) {
  auto store = ResultsStore::open_for_writing(temp_db());
  ASSERT_TRUE(store.ok()) << store.error();
  BatchWriter writer(*store);
  Batch first;
  first.add(result("S", 0));
  writer.add(std::move(first));
  Batch second;
  second.add(result("S", 0, 2));
  second.add(result("S", 1));
  writer.add(std::move(second));
  EXPECT_EQ(writer.size(), 3u);
  auto outcome = writer.commit(1);
  ASSERT_TRUE(outcome.ok()) << outcome.error();
  ASSERT_EQ(outcome->committed.size(), 3u);
  EXPECT_EQ(std::get<ReceivedResult>(outcome->committed.items()[0]).result.attempt, 1u);
  EXPECT_EQ(outcome->duplicates, 1u);
  EXPECT_EQ(count(*store, "SELECT COUNT(*) FROM trials"), 2);
}

TEST(Batch, IsDueWhenFullOrWhenItsOldestMessageHasWaitedTheDelay) {
  using namespace std::chrono_literals;
  const CommitPolicy policy{3, 50ms};
  const Batch::Clock::time_point t0{};
  Batch batch;
  EXPECT_FALSE(batch.due(policy, t0 + 1h)) << "an empty batch is never due";
  batch.add(result("S", 0), t0);
  batch.add(result("S", 1), t0 + 40ms);  // a later message does not restart the clock
  EXPECT_FALSE(batch.due(policy, t0 + 49ms));
  EXPECT_TRUE(batch.due(policy, t0 + 50ms)) << "a partial batch commits on time";
  EXPECT_EQ(batch.commit_by(policy), t0 + 50ms);
  batch.add(result("S", 2), t0 + 41ms);
  EXPECT_TRUE(batch.due(policy, t0 + 41ms)) << "a full batch commits at once";
}

TEST(BatchWriter, FailedAttemptsAreKeptPerAttemptAndDoNotTakeTheResultRow) {
  auto store = ResultsStore::open_for_writing(temp_db());
  ASSERT_TRUE(store.ok());
  BatchWriter batch(*store);
  batch.add(result("S", 0, 1, ResultStatus::failed));
  batch.add(result("S", 0, 2, ResultStatus::failed));
  batch.add(result("S", 0, 3));
  ASSERT_TRUE(batch.commit(1).ok());
  EXPECT_EQ(count(*store, "SELECT COUNT(*) FROM failures"), 2);
  EXPECT_EQ(count(*store, "SELECT attempt FROM trials"), 3);
}

// Disk full: SQLite's max_page_count makes writes fail with SQLITE_FULL, as
// a full disk would. The batch must survive the failed commit, nothing
// committed before may change, and the retry must land everything.
TEST(BatchWriter, DiskFullKeepsTheBatchAndCommittedRowsThenRecovers) {
  auto store = ResultsStore::open_for_writing(temp_db());
  ASSERT_TRUE(store.ok());
  BatchWriter batch(*store);
  batch.add(result("early", 0));
  ASSERT_TRUE(batch.commit(1).ok());
  int64_t pages = count(*store, "PRAGMA page_count");
  ASSERT_TRUE(store->db().exec("PRAGMA max_page_count = " + std::to_string(pages)).ok());
  for (int i = 0; i < 300; ++i) {
    EventRecord big{"job.started.r1", "job.event", i, std::string(4000, 'x'), ""};
    batch.add(big);
    batch.add(result("late", i));
  }
  auto full = batch.commit(2);
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.error().find("full"), std::string::npos) << full.error();
  EXPECT_EQ(batch.size(), 600u);
  EXPECT_EQ(count(*store, "SELECT COUNT(*) FROM trials"), 1);
  ASSERT_TRUE(store->db().exec("PRAGMA max_page_count = 1073741823").ok());
  auto retried = batch.commit(3);
  ASSERT_TRUE(retried.ok()) << retried.error();
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(count(*store, "SELECT COUNT(*) FROM trials"), 301);
  EXPECT_EQ(count(*store, "SELECT COUNT(*) FROM events"), 300);
}

// A stop right after a dispatch can leave the scheduler's last checkpoint
// behind its jobs: resume must still count the attempts its result and
// failure rows show, and a late checkpoint never lowers a count.
TEST(BatchWriter, AJobNeverCountsFewerAttemptsThanItsStoredRows) {
  std::string path = temp_db();
  auto store = ResultsStore::open_for_writing(path);
  ASSERT_TRUE(store.ok()) << store.error();
  RunCheckpoint c;
  c.run = "r1";
  for (int64_t trial : {0, 1}) {
    Job job;
    job.key = JobKey{"r1", "S", trial};
    job.attempt = 0;
    c.jobs.push_back(JobState{job, WorkState::pending, ""});
  }
  BatchWriter batch(*store);
  batch.add(c);
  batch.add(result("S", 0, 1));
  batch.add(result("S", 1, 2, ResultStatus::failed));
  ASSERT_TRUE(batch.commit(1).ok());
  RunCheckpoint later = c;
  later.jobs[1].job.attempt = 3;
  batch.add(later);
  batch.add(c);  // a late checkpoint still saying 0
  ASSERT_TRUE(batch.commit(2).ok());
  EXPECT_EQ(count(*store, "SELECT attempts FROM jobs WHERE trial = 1"), 3);
  auto reader = ResultsStore::open_read_only(path);
  ASSERT_TRUE(reader.ok()) << reader.error();
  auto back = reader->checkpoint("r1");
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->jobs[0].job.attempt, 1u);
  EXPECT_EQ((*back)->jobs[1].job.attempt, 3u);
  c.run = "r2";
  for (auto& job : c.jobs) job.job.key.run = "r2";
  batch.add(c);
  JobResult failure = result("S", 1, 2, ResultStatus::failed);
  failure.key.run = "r2";
  batch.add(failure);
  ASSERT_TRUE(batch.commit(3).ok());
  back = reader->checkpoint("r2");
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->jobs[1].job.attempt, 2u) << "resume sends attempt 3 next, not 1";
}

}  // namespace
}  // namespace nightshift::persister
