// The market cache (var/market.db) refuses a file it cannot use with one
// error that names the file and says what is wrong with it: a file cut short,
// a file that is not a database at all, and a cache written by a newer
// nightshift. Never a crash, never SQLite's bare message.
#include "stages/fetcher/market_cache.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "schema/migrations.h"

namespace nightshift::fetcher {
namespace {

namespace fs = std::filesystem;

class MarketCacheFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/nightshift-market-XXXXXX";
    dir_ = mkdtemp(pattern);
    path_ = dir_ + "/market.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A cache holding enough bars to span many pages, closed (so the WAL is
  // checkpointed into the file and removed).
  void write_cache() {
    auto cache = MarketCache::open(path_);
    ASSERT_TRUE(cache.ok()) << cache.error();
    Bars bars;
    for (int64_t i = 0; i < 5000; ++i) bars.push_back({i * 60, 100, 101, 99, 100.5, 10});
    FetchLogEntry log{0, 5000 * 60, 1, "ok", "", {}};
    Status s = cache->store({"synthetic", "BTCUSDT", "1m"}, bars, true, log);
    ASSERT_TRUE(s.ok()) << s.error();
  }

  // The one error opening the file gives; it must name the file.
  std::string open_error() {
    auto cache = MarketCache::open(path_);
    EXPECT_FALSE(cache.ok()) << path_ << " opened";
    if (cache.ok()) return {};
    const std::string& error = cache.error();
    EXPECT_EQ(error.rfind("market cache: ", 0), 0u) << error;
    EXPECT_NE(error.find(path_), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    return error;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(MarketCacheFileTest, TruncatedFileIsReportedAsDamaged) {
  write_cache();
  ASSERT_FALSE(fs::exists(path_ + "-wal"));
  const auto full = fs::file_size(path_);
  ASSERT_GT(full, 16u * 4096u);
  fs::resize_file(path_, full / 2);
  std::string error = open_error();
  EXPECT_NE(error.find("damaged or truncated"), std::string::npos) << error;
}

TEST_F(MarketCacheFileTest, FileCutInsideTheHeaderIsReportedAsDamaged) {
  write_cache();
  fs::resize_file(path_, 60);
  std::string error = open_error();
  EXPECT_NE(error.find("damaged or truncated"), std::string::npos) << error;
}

TEST_F(MarketCacheFileTest, GarbageFileIsReportedAsNotADatabase) {
  std::mt19937 rng(7);
  std::ofstream out(path_, std::ios::binary);
  for (int i = 0; i < 64 * 1024; ++i) out.put(static_cast<char>(rng()));
  out.close();
  std::string error = open_error();
  EXPECT_NE(error.find("not a SQLite database"), std::string::npos) << error;
}

TEST_F(MarketCacheFileTest, NewerSchemaVersionIsRefusedAndLeftAlone) {
  write_cache();
  const int newer = sql::market_migrations().back().version + 1;
  {
    auto db = sql::Database::open(path_);
    ASSERT_TRUE(db.ok()) << db.error();
    ASSERT_TRUE(db->exec("PRAGMA user_version=" + std::to_string(newer)).ok());
  }
  std::string error = open_error();
  EXPECT_NE(error.find("schema version " + std::to_string(newer) + " is newer"), std::string::npos)
      << error;
  auto db = sql::Database::open(path_);
  ASSERT_TRUE(db.ok()) << db.error();
  auto version = db->query_int("PRAGMA user_version");
  ASSERT_TRUE(version.ok()) << version.error();
  EXPECT_EQ(*version, newer);  // not migrated down or rewritten
}

}  // namespace
}  // namespace nightshift::fetcher
