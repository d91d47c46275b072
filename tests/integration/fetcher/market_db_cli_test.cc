// A market cache file (storage.market_db) that nightshift cannot use: `fetch`,
// `data ls` and the fetcher stage each stop with one error naming the file and
// what is wrong with it -- cut short, not a database, or written by a newer
// nightshift.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "schema/sqlite.h"
#include "tests/integration/night/cli_run.h"
#include "tests/support/child_process.h"

namespace nightshift {
namespace {

using namespace std::chrono_literals;
using testing::expect_one_line_error;

void write_garbage(const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  for (int i = 0; i < 8192; ++i) out.put(static_cast<char>((i * 7919) % 251));
}

// A database of many pages, then cut to half its size.
void write_truncated(const std::string& path) {
  {
    auto db = sql::Database::open(path);
    ASSERT_TRUE(db.ok()) << db.error();
    ASSERT_TRUE(db->exec("CREATE TABLE t (x BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
                         "SELECT i + 1 FROM n WHERE i < 200) INSERT INTO t SELECT zeroblob(1000) FROM n")
                    .ok());
  }
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
}

void write_newer(const std::string& path) {
  auto db = sql::Database::open(path);
  ASSERT_TRUE(db.ok()) << db.error();
  ASSERT_TRUE(db->exec("PRAGMA user_version=99").ok());
}

std::vector<std::string> fetch_args(const testing::TestBus& bus) {
  return {"--config", bus.config_path, "fetch", "BTCUSDT", "--source", "synthetic", "--tf", "1d",
          "--from", "2024-01-01", "--to", "2024-02-01", "-q"};
}

void expect_refused(void (*write)(const std::string&), const std::string& problem) {
  auto bus = testing::make_test_bus();
  const std::string& db = bus.config.storage.market_db;
  write(db);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const auto size = std::filesystem::file_size(db);

  auto out = testing::run_cli(fetch_args(bus), 20s);
  expect_one_line_error(out, {"market cache", db, problem}, 1);
  out = testing::run_cli({"--config", bus.config_path, "data", "ls"}, 20s);
  expect_one_line_error(out, {"market cache", db, problem}, 1);

  testing::ChildProcess stage({testing::nightshift_binary(), "--config", bus.config_path, "fetcher"});
  EXPECT_EQ(stage.wait(20s), 1) << stage.stderr_text();
  EXPECT_NE(stage.stderr_text().find(db + ": " + problem), std::string::npos) << stage.stderr_text();
  EXPECT_EQ(std::filesystem::file_size(db), size);  // left as found
}

TEST(MarketDbCli, TruncatedFileIsOneLineNamingIt) {
  expect_refused(write_truncated, "the file is damaged or truncated");
}

TEST(MarketDbCli, GarbageFileIsOneLineNamingIt) {
  expect_refused(write_garbage, "not a SQLite database");
}

TEST(MarketDbCli, NewerSchemaIsOneLineNamingIt) {
  expect_refused(write_newer, "schema version 99 is newer than this nightshift");
}

}  // namespace
}  // namespace nightshift
