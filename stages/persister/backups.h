// Backups of the results database (docs/cache.md "Backups"): online copies
// into storage.backups_dir taken with SQLite's backup API
// (schema/backup.h), named nightshift-<UTC time>-<label>.db so that name
// order is time order, of which the newest storage.backups_keep are kept.
//
// Who takes them: the persister (BackupTimer, its own thread and
// connection) whenever the newest backup is older than
// storage.backup_interval_hours, `nightshift run` at the end of every run,
// and `nightshift backup` on demand. `nightshift restore FILE` puts one back,
// only while no run holds the run lock beside the results database.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "schema/backup.h"

namespace nightshift::persister {

struct TakenBackup {
  std::string path;
  sql::BackupOutcome outcome;
  std::vector<std::string> deleted;  // older backups removed by the rotation
};

// Backs the results database up now under `label` (a run id, "manual", ...),
// then deletes all but the newest storage.backups_keep backups.
Result<TakenBackup> take_backup(const config::Config& config, const std::string& label,
                                const sql::BackupPacing& pacing = {});

// Backup files in `folder`, oldest first (by name, which starts with the time).
std::vector<std::string> backup_files(const std::string& folder);

// When the newest backup in storage.backups_dir was written; none if none.
std::optional<std::chrono::system_clock::time_point> newest_backup_time(const config::Config& config);

// The persister's periodic backups: a thread that wakes now and then and
// takes a backup once both the newest one and the thread's start are older
// than the interval (so a restarted persister keeps the rhythm, and a short
// run gets only its end-of-run backup). Not started when the interval is 0.
// Stops (and joins) in its destructor.
class BackupTimer {
 public:
  BackupTimer(const config::Config& config, std::string label);
  ~BackupTimer();
  BackupTimer(const BackupTimer&) = delete;
  BackupTimer& operator=(const BackupTimer&) = delete;
  uint64_t taken() const { return taken_.load(); }

 private:
  void loop();

  config::Config config_;
  std::string label_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<uint64_t> taken_{0};
  std::thread thread_;
};

// `nightshift backup`: one line naming the file, its size and time; errors
// are one line on stderr. Returns the exit code.
int run_backup(const config::Config& config);

// `nightshift restore FILE`: refused (one line, exit 1) while a run holds the
// run lock, or when FILE fails its checks (integrity, schema version, a
// nightshift database); otherwise the current database is first backed up
// ("before-restore") and then replaced. Returns the exit code.
int run_restore(const config::Config& config, const std::string& file);

}  // namespace nightshift::persister
