// Backups of the results database against a live night run, with real
// processes and real SQLite files (docs/cache.md "Backups"): `nightshift
// backup` while the run writes, the persister's periodic backups and the one
// at the end of the run, `restore` refused during the run and working after.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "schema/backup.h"
#include "stages/persister/backups.h"
#include "tests/integration/night/cli_run.h"
#include "tests/integration/night/night_helpers.h"
#include "tests/support/child_process.h"

namespace nightshift {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::run_cli;

// 2 x 2 studies of 10 trials and a final fit: 44 jobs of 60 ms on one
// worker, a few seconds of steady writes. Periodic backups every 0.72 s.
const char* kLongRun = R"(
symbols: [AAA, BBB]
timeframes: [1h, 4h]
horizons: [1]
scheduler:
  lease_s: 30
  grace_s: 2
  trials_per_study: 10
storage:
  backup_interval_hours: 0.0002
  backups_keep: 3
telemetry:
  enabled: false
)";

int64_t count_in(const std::string& path, const std::string& sql) {
  return testing::query_db(path, sql);
}

TEST(NightBackup, BackupDuringARunIsConsistentAndRestoreWaitsForTheRunToEnd) {
  auto bus = testing::make_test_bus(kLongRun);
  const std::string& db = bus.config.storage.results_db;
  ChildProcess run({testing::nightshift_binary(), "--config", bus.config_path, "run", "--run-id", "night",
                    "--workers", "1", "--worker-program", NIGHT_TEST_WORKER, "--worker-arg", "--sleep-ms",
                    "--worker-arg", "60"});
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (count_in(db, "SELECT COUNT(*) FROM trials") < 8 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  const int64_t before = count_in(db, "SELECT COUNT(*) FROM trials");
  ASSERT_GE(before, 8);
  auto backup = run_cli({"--config", bus.config_path, "backup"}, 30s);
  ASSERT_EQ(backup.exit_code, 0) << backup.describe();
  std::smatch found;
  const std::string out = backup.stdout_text;
  ASSERT_TRUE(std::regex_search(out, found, std::regex("backup: (\\S+-manual\\.db) ")))
      << backup.stdout_text;
  const std::string file = found[1];
  // Copy it aside: the rotation may delete it while the run goes on.
  const std::string kept = bus.dir + "/mid-run.db";
  std::filesystem::copy_file(file, kept);
  ASSERT_TRUE(sql::verify_results_backup(kept).ok());  // integrity_check == ok, a known schema
  const int64_t in_backup = count_in(kept, "SELECT COUNT(*) FROM trials");
  EXPECT_GE(in_backup, before);
  EXPECT_LT(in_backup, 44) << "the run had not finished when the backup was taken";

  // A restore while the run writes: one line, exit 1, nothing replaced.
  auto refused = run_cli({"--config", bus.config_path, "restore", kept}, 30s);
  testing::expect_one_line_error(refused, {"restore refused", "is writing", db}, 1);
  EXPECT_GE(count_in(db, "SELECT COUNT(*) FROM trials"), in_backup);
  // So is `cache clear`.
  auto clear = run_cli({"--config", bus.config_path, "cache", "clear"}, 30s);
  testing::expect_one_line_error(clear, {"cache clear refused"}, 1);

  auto status = run.wait(90s);
  ASSERT_TRUE(status.has_value());
  ASSERT_EQ(*status, 0) << run.stderr_text();
  EXPECT_EQ(count_in(db, "SELECT COUNT(*) FROM trials"), 44);
  EXPECT_NE(run.stdout_text().find("backup: "), std::string::npos) << run.stdout_text();

  // Periodic backups by the persister (labelled with the run) and the one
  // at the end, rotated to the newest 3.
  auto files = persister::backup_files(bus.config.storage.backups_dir);
  EXPECT_LE(files.size(), 3u);
  ASSERT_FALSE(files.empty());
  EXPECT_NE(files.back().find("-night.db"), std::string::npos) << files.back();
  EXPECT_EQ(count_in(files.back(), "SELECT COUNT(*) FROM trials"), 44);
  std::string persister_log;
  {
    std::ifstream log(bus.dir + "/logs/night/persister.log");
    persister_log.assign((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  }
  EXPECT_NE(persister_log.find("-night.db: "), std::string::npos) << persister_log;

  // After the run: the mid-run backup comes back, exactly its rows.
  auto restore = run_cli({"--config", bus.config_path, "restore", kept}, 30s);
  ASSERT_EQ(restore.exit_code, 0) << restore.describe();
  EXPECT_NE(restore.stdout_text.find("before-restore"), std::string::npos) << restore.stdout_text;
  EXPECT_EQ(count_in(db, "SELECT COUNT(*) FROM trials"), in_backup);
  EXPECT_EQ(count_in(db, "SELECT COUNT(*) FROM runs WHERE run = 'night' AND status = 'running'"), 1);
  // A damaged file is refused with one line.
  std::ofstream(bus.dir + "/damaged.db") << std::string(8192, '\1');
  auto damaged = run_cli({"--config", bus.config_path, "restore", bus.dir + "/damaged.db"}, 30s);
  testing::expect_one_line_error(damaged, {"restore refused", "damaged.db"}, 1);
  EXPECT_EQ(count_in(db, "SELECT COUNT(*) FROM trials"), in_backup);
}

}  // namespace
}  // namespace nightshift
