#include "schema/sqlite.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "schema/migrations.h"

namespace nightshift::sql {
namespace {

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("nightshift-sqlite-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    path_ = (dir_ / "sub" / "test.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string path_;
};

const std::vector<Migration> kTwo = {
    {1, "001_init", "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);"},
    {2, "002_more", "ALTER TABLE t ADD COLUMN w REAL;"},
};

TEST_F(SqliteTest, OpenCreatesParentFoldersAndUsesWal) {
  auto db = Database::open(path_);
  ASSERT_TRUE(db) << db.error();
  auto stmt = db->prepare("PRAGMA journal_mode");
  ASSERT_TRUE(stmt);
  ASSERT_TRUE(*stmt->step());
  EXPECT_EQ(stmt->column_text(0), "wal");
}

TEST_F(SqliteTest, MigrationsApplyOnceInOrder) {
  {
    auto db = Database::open(path_);
    ASSERT_TRUE(db);
    ASSERT_TRUE(migrate(*db, kTwo));
    EXPECT_EQ(*db->query_int("PRAGMA user_version"), 2);
    ASSERT_TRUE(db->exec("INSERT INTO t (k, v, w) VALUES (1, 'a', 0.5)"));
  }
  auto db = Database::open(path_);
  ASSERT_TRUE(db);
  Status again = migrate(*db, kTwo);
  EXPECT_TRUE(again) << again.error();
  EXPECT_EQ(*db->query_int("SELECT COUNT(*) FROM t"), 1) << "re-open keeps data";
}

TEST_F(SqliteTest, FailingMigrationRollsBackAndNamesItself) {
  auto db = Database::open(path_);
  ASSERT_TRUE(db);
  std::vector<Migration> broken = {kTwo[0], {2, "002_broken", "ALTER TABLE nope ADD COLUMN x;"}};
  Status s = migrate(*db, broken);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find("migration 2 (002_broken) failed"), std::string::npos) << s.error();
  EXPECT_EQ(*db->query_int("PRAGMA user_version"), 1) << "migration 1 stays, 2 rolled back";
}

TEST_F(SqliteTest, DatabaseNewerThanBinaryIsAnError) {
  auto db = Database::open(path_);
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("PRAGMA user_version=9"));
  Status s = migrate(*db, kTwo);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find("newer than this nightshift"), std::string::npos);
}

TEST_F(SqliteTest, TransactionRollsBackUnlessCommitted) {
  auto db = Database::open(path_);
  ASSERT_TRUE(db);
  ASSERT_TRUE(migrate(*db, kTwo));
  {
    auto tx = Transaction::begin(*db);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(db->exec("INSERT INTO t (k, v) VALUES (1, 'lost')"));
  }
  EXPECT_EQ(*db->query_int("SELECT COUNT(*) FROM t"), 0);
  {
    auto tx = Transaction::begin(*db);
    ASSERT_TRUE(tx);
    auto insert = db->prepare("INSERT INTO t (k, v, w) VALUES (?, ?, ?)");
    ASSERT_TRUE(insert);
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(insert->bind(1, i).bind(2, "x").bind(3, std::optional<double>()).run());
    }
    ASSERT_TRUE(tx->commit());
  }
  EXPECT_EQ(*db->query_int("SELECT COUNT(*) FROM t WHERE w IS NULL"), 3);
}

TEST_F(SqliteTest, ConstraintViolationIsAnErrorValue) {
  auto db = Database::open(path_);
  ASSERT_TRUE(db);
  ASSERT_TRUE(migrate(*db, kTwo));
  ASSERT_TRUE(db->exec("INSERT INTO t (k, v) VALUES (1, 'a')"));
  Status dup = db->exec("INSERT INTO t (k, v) VALUES (1, 'b')");
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().find("UNIQUE constraint failed"), std::string::npos);
}

TEST_F(SqliteTest, UnwritableLocationIsAClearError) {
  auto db = Database::open("/proc/nightshift/test.db");
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().find("cannot open database /proc/nightshift/test.db"), std::string::npos);
}

}  // namespace
}  // namespace nightshift::sql
