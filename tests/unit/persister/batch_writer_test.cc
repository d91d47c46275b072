#include "stages/persister/batch_writer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace nightshift::persister {
namespace {

std::string temp_db() {
  char dir[] = "/tmp/nightshift-persister-XXXXXX";
  EXPECT_NE(mkdtemp(dir), nullptr);
  return std::string(dir) + "/nightshift.db";
}

JobResult result(const std::string& study, int64_t trial, uint32_t attempt = 1,
                 std::string status = "ok") {
  JobResult r;
  r.key = JobKey{"r1", study, trial};
  r.attempt = attempt;
  r.status = std::move(status);
  r.reason = r.status == "ok" ? "" : "boom";
  r.worker = "host/1";
  r.params = {{"C", 0.5}};
  r.metrics = {{"auc", 0.6}};
  r.folds = {FoldMetrics{{{"auc", 0.61}}, 100, 20}};
  r.wall_s = 1.5;
  if (trial < 0) {
    r.promoted = true;
    r.gates = {{"min_auc", "pass"}};
    r.artifact_path = "models/x.bin";
  }
  return r;
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
  EXPECT_EQ(first->results.size(), 3u);  // all announced: the scheduler may have missed one
  batch.add(result("S", 0, 3));
  ASSERT_TRUE(batch.commit(2).ok());
  EXPECT_EQ(count(*store, "SELECT COUNT(*) FROM trials"), 2);
  EXPECT_EQ(count(*store, "SELECT attempt FROM trials WHERE trial = 0"), 1);
  EXPECT_EQ(count(*store, "SELECT promoted FROM models"), 1);
}

TEST(BatchWriter, FailedAttemptsAreKeptPerAttemptAndDoNotTakeTheResultRow) {
  auto store = ResultsStore::open_for_writing(temp_db());
  ASSERT_TRUE(store.ok());
  BatchWriter batch(*store);
  batch.add(result("S", 0, 1, "failed"));
  batch.add(result("S", 0, 2, "failed"));
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

TEST(ResultsStore, CheckpointRoundTripsThePlanAndStates) {
  std::string path = temp_db();
  auto store = ResultsStore::open_for_writing(path);
  ASSERT_TRUE(store.ok());
  RunCheckpoint c;
  c.run = "r1";
  c.status = "interrupted";
  c.started_ns = 5;
  Job job;
  job.key = JobKey{"r1", "BTC.1h.h1.logreg_l2", 0};
  job.kind = "trial";
  job.symbol = "BTC";
  job.timeframe = "1h";
  job.attempt = 2;
  job.params = {{"C", 0.3}};
  c.jobs.push_back(JobState{job, "skipped", "failed 3 times"});
  BatchWriter batch(*store);
  batch.add(c);
  ASSERT_TRUE(batch.commit(7).ok());
  auto reader = ResultsStore::open_read_only(path);
  ASSERT_TRUE(reader.ok()) << reader.error();
  auto back = reader->checkpoint("r1");
  ASSERT_TRUE(back.ok()) << back.error();
  ASSERT_TRUE(back->has_value());
  const RunCheckpoint& b = **back;
  EXPECT_EQ(b.status, "interrupted");
  ASSERT_EQ(b.jobs.size(), 1u);
  EXPECT_EQ(b.jobs[0].state, "skipped");
  EXPECT_EQ(b.jobs[0].reason, "failed 3 times");
  EXPECT_EQ(b.jobs[0].job.attempt, 2u);
  EXPECT_EQ(b.jobs[0].job.params.at("C"), 0.3);
  auto missing = reader->checkpoint("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST(ResultsStore, UnwritablePathIsAClearError) {
  auto store = ResultsStore::open_for_writing("/proc/nightshift-forbidden/nightshift.db");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().find("/proc/nightshift-forbidden"), std::string::npos) << store.error();
}

}  // namespace
}  // namespace nightshift::persister
