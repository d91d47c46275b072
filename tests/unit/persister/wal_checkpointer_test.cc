// WalCheckpointer: the log is copied back into the database file by its own
// thread, or by the writer once the log passes the inline mark; every
// committed row stays readable throughout.
#include "stages/persister/wal_checkpointer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>

#include "stages/persister/batch_writer.h"

namespace nightshift::persister {
namespace {

using namespace std::chrono_literals;

std::string temp_db() {
  char dir[] = "/tmp/nightshift-wal-XXXXXX";
  EXPECT_NE(mkdtemp(dir), nullptr);
  return std::string(dir) + "/nightshift.db";
}

JobResult result(int64_t trial) {
  JobResult r;
  r.key = JobKey{"r1", "BTCUSDT.1h.h1.logreg_l2", trial};
  r.status = nightshift::ResultStatus::ok;
  r.worker = "host/1";
  r.params = {{"C", 0.5}};
  r.metrics = {{"auc", 0.6}, {"brier", 0.24}};
  for (int f = 0; f < 5; ++f) r.folds.push_back(FoldMetrics{{{"auc", 0.61}}, 800, 200});
  r.data_fingerprint = std::string(200, 'f');  // some bulk per row
  return r;
}

// Commits `batches` batches of 200 results each, numbered from `first`.
void commit_results(ResultsStore& store, int64_t first, int batches) {
  BatchWriter batch(store);
  for (int b = 0; b < batches; ++b) {
    for (int i = 0; i < 200; ++i) batch.add(result(first + b * 200 + i));
    auto committed = batch.commit(1);
    ASSERT_TRUE(committed) << committed.error();
  }
}

std::uintmax_t database_file_bytes(const std::string& path) {
  return std::filesystem::file_size(path);
}

// A fresh results database, its size before any result, and a checkpointer
// on its writer connection under `policy`.
class WalCheckpointerTest : public ::testing::Test {
 protected:
  void open(CheckpointPolicy policy) {
    auto opened = ResultsStore::open_for_writing(path_);
    ASSERT_TRUE(opened) << opened.error();
    store_.emplace(std::move(*opened));
    empty_bytes_ = database_file_bytes(path_);
    auto started = WalCheckpointer::start(store_->db(), policy);
    ASSERT_TRUE(started) << started.error();
    checkpointer_ = std::move(*started);
  }
  // How much the database file itself (not its log) has grown.
  std::uintmax_t grown_bytes() const { return database_file_bytes(path_) - empty_bytes_; }

  const std::string path_ = temp_db();
  std::optional<ResultsStore> store_;
  std::uintmax_t empty_bytes_ = 0;
  std::unique_ptr<WalCheckpointer> checkpointer_;  // after store_: goes first
};

TEST_F(WalCheckpointerTest, CopiesTheLogBackOnItsOwnThread) {
  open(CheckpointPolicy{50, 1'000'000});
  commit_results(*store_, 0, 20);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (checkpointer_->checkpoints() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GT(checkpointer_->checkpoints(), 0u);
  // The rows reached the database file itself, not only the log.
  EXPECT_GT(grown_bytes(), 500'000u);
  auto reader = ResultsStore::open_read_only(path_);
  ASSERT_TRUE(reader) << reader.error();
  EXPECT_EQ(*reader->db().query_int("SELECT COUNT(*) FROM trials"), 4000);
}

TEST_F(WalCheckpointerTest, TheWriterStepsInWhenTheLogPassesTheInlineMark) {
  // The bell never rings (pages too high): only the inline fallback can copy.
  open(CheckpointPolicy{1'000'000, 50});
  commit_results(*store_, 0, 20);
  EXPECT_EQ(checkpointer_->checkpoints(), 0u);
  EXPECT_GT(grown_bytes(), 500'000u);
  EXPECT_EQ(*store_->db().query_int("SELECT COUNT(*) FROM trials"), 4000);
}

TEST_F(WalCheckpointerTest, WithoutCheckpointsTheRowsStayInTheLogUntilOneRuns) {
  // The control for the two tests above: with the bell and the fallback out
  // of reach, the database file does not grow while the writer is open.
  open(CheckpointPolicy{1'000'000, 1'000'000});
  commit_results(*store_, 0, 20);
  EXPECT_LT(grown_bytes(), 100'000u);
  EXPECT_EQ(*store_->db().query_int("SELECT COUNT(*) FROM trials"), 4000);
}

}  // namespace
}  // namespace nightshift::persister
