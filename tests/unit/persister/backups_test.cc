// Backups of the results database (stages/persister/backups.h,
// schema/backup.h): an online backup taken while a writer commits is a
// consistent snapshot holding what was committed before it, the writer keeps
// committing meanwhile, rotation keeps the newest N, and restore checks
// what it is given.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "schema/backup.h"
#include "schema/results_store.h"
#include "stages/persister/backups.h"
#include "tests/support/result_rows.h"

namespace nightshift::persister {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

config::Config config_in(const std::string& db) {
  config::Config c;
  c.storage.results_db = db;
  c.storage.backups_dir = fs::path(db).parent_path() / "backups";
  return c;
}

int64_t count_in(const std::string& path, const std::string& sql) {
  auto store = ResultsStore::open_read_only(path);
  if (!store) return -1;
  auto n = store->db().query_int(sql);
  return n ? *n : -1;
}

// Commit latency of the writer, per phase (0: before the backup, 1: during).
struct Latency {
  int64_t max_us[2] = {0, 0};
  int64_t sum_us[2] = {0, 0};
  int64_t n[2] = {0, 0};
  double mean_us(int p) const { return n[p] ? static_cast<double>(sum_us[p]) / static_cast<double>(n[p]) : 0; }
};

// Commits results one small transaction after another until told to stop;
// `committed` counts what is durable.
void write_until(ResultsStore& store, std::atomic<bool>& stop, std::atomic<int64_t>& committed,
                 const std::atomic<int>* phase = nullptr, Latency* latency = nullptr) {
  int64_t trial = committed.load();
  while (!stop) {
    auto started = Clock::now();
    auto tx = sql::Transaction::begin(store.db());
    ASSERT_TRUE(tx.ok()) << tx.error();
    for (int i = 0; i < 20; ++i) {
      bool inserted = false;
      ASSERT_TRUE(store.put_result(testing::sample_result("S", trial++), 1, inserted).ok());
    }
    ASSERT_TRUE(tx->commit().ok());
    committed = trial;
    if (latency != nullptr) {
      const int p = phase->load();
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
      latency->max_us[p] = std::max(latency->max_us[p], static_cast<int64_t>(us));
      latency->sum_us[p] += us;
      ++latency->n[p];
    }
  }
}

TEST(Backups, AnOnlineBackupWhileTheWriterCommitsIsConsistentAndHoldsWhatCameBefore) {
  const std::string db = testing::temp_results_db();
  auto store = ResultsStore::open_for_writing(db);
  ASSERT_TRUE(store.ok()) << store.error();
  std::atomic<int64_t> committed{0};
  {
    // Some size first (about 20,000 rows), so the backup takes many steps.
    std::atomic<bool> enough{false};
    std::thread fill([&] { write_until(*store, enough, committed); });
    while (committed < 20'000) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    enough = true;
    fill.join();
  }
  std::atomic<bool> stop{false};
  std::atomic<int> phase{0};
  Latency latency;
  const int64_t start = committed.load();
  std::thread writer([&] { write_until(*store, stop, committed, &phase, &latency); });
  while (committed < start + 25'000) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const int64_t before = committed.load();
  phase = 1;
  sql::BackupPacing pacing;
  pacing.pages_per_step = 16;  // many steps, with commits in between
  auto taken = take_backup(config_in(db), "during-writes", pacing);
  const int64_t after = committed.load();
  stop = true;
  writer.join();
  ASSERT_TRUE(taken.ok()) << taken.error();
  EXPECT_GT(taken->outcome.steps, 10);
  EXPECT_GT(after, before) << "the writer committed nothing while the backup ran";
  auto version = sql::verify_results_backup(taken->path);  // integrity_check == ok
  ASSERT_TRUE(version.ok()) << version.error();
  const int64_t rows = count_in(taken->path, "SELECT COUNT(*) FROM trials");
  EXPECT_GE(rows, before);
  EXPECT_LE(rows, after);
  EXPECT_EQ(rows % 20, 0) << "a backup holds whole transactions only";
  EXPECT_FALSE(fs::exists(taken->path + ".tmp"));
  std::cout << "backup of " << taken->outcome.pages << " pages (" << taken->outcome.bytes << " bytes, "
            << rows << " trials rows) in " << taken->outcome.seconds << " s, " << taken->outcome.steps
            << " steps; 20-row commits before it: " << latency.n[0] << ", mean "
            << latency.mean_us(0) << " us, max " << latency.max_us[0] << " us; during it: "
            << latency.n[1] << ", mean " << latency.mean_us(1) << " us, max " << latency.max_us[1]
            << " us\n";
}

TEST(Backups, RotationKeepsTheNewestN) {
  const std::string db = testing::temp_results_db();
  ASSERT_TRUE(ResultsStore::open_for_writing(db).ok());
  auto config = config_in(db);
  config.storage.backups_keep = 2;
  std::vector<std::string> paths;
  for (int i = 0; i < 4; ++i) {
    auto taken = take_backup(config, "n" + std::to_string(i));
    ASSERT_TRUE(taken.ok()) << taken.error();
    paths.push_back(taken->path);
    std::this_thread::sleep_for(std::chrono::milliseconds(3));  // names carry milliseconds
  }
  auto left = backup_files(config.storage.backups_dir);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0], paths[2]);
  EXPECT_EQ(left[1], paths[3]);
  EXPECT_NE(left[1].find("-n3.db"), std::string::npos);
  // Files that are not backups are never touched.
  std::ofstream(config.storage.backups_dir + "/notes.txt") << "keep me";
  ASSERT_TRUE(take_backup(config, "n4").ok());
  EXPECT_TRUE(fs::exists(config.storage.backups_dir + "/notes.txt"));
  EXPECT_EQ(backup_files(config.storage.backups_dir).size(), 2u);
}

TEST(Backups, RestorePutsTheRowsBackAndRefusesWhatFailsItsChecks) {
  const std::string db = testing::temp_results_db();
  auto config = config_in(db);
  {
    auto store = ResultsStore::open_for_writing(db);
    ASSERT_TRUE(store.ok());
    bool inserted = false;
    for (int64_t t = 0; t < 5; ++t) ASSERT_TRUE(store->put_result(testing::sample_result("S", t), 1, inserted).ok());
  }
  auto taken = take_backup(config, "five");
  ASSERT_TRUE(taken.ok()) << taken.error();
  {
    auto store = ResultsStore::open_for_writing(db);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(store->db().exec("DELETE FROM trials").ok());
  }
  EXPECT_EQ(count_in(db, "SELECT COUNT(*) FROM trials"), 0);
  EXPECT_EQ(run_restore(config, taken->path), 0);
  EXPECT_EQ(count_in(db, "SELECT COUNT(*) FROM trials"), 5);
  // The database it replaced was kept as a backup first.
  auto files = backup_files(config.storage.backups_dir);
  EXPECT_TRUE(std::any_of(files.begin(), files.end(),
                          [](const std::string& f) { return f.find("before-restore") != std::string::npos; }));

  const std::string garbage = fs::path(db).parent_path() / "garbage.db";
  std::ofstream(garbage) << std::string(4096, 'x');
  EXPECT_FALSE(sql::verify_results_backup(garbage).ok());
  EXPECT_EQ(run_restore(config, garbage), 1);
  EXPECT_EQ(run_restore(config, "/nonexistent/backup.db"), 1);
  // A backup from a newer nightshift: refused, the database untouched.
  const std::string newer = fs::path(db).parent_path() / "newer.db";
  fs::copy_file(taken->path, newer);
  {
    auto raw = sql::Database::open(newer);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE(raw->exec("PRAGMA user_version = 999").ok());
  }
  auto refused = sql::verify_results_backup(newer);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("newer than this nightshift"), std::string::npos) << refused.error();
  EXPECT_EQ(run_restore(config, newer), 1);
  EXPECT_EQ(count_in(db, "SELECT COUNT(*) FROM trials"), 5);
}

}  // namespace
}  // namespace nightshift::persister
