// Online backups of an SQLite database with SQLite's backup API, and the
// checks a backup must pass before it may replace the results database.
//
// backup_database() reads the source on a connection of its own inside one
// read transaction: in WAL mode that is a fixed snapshot that never blocks
// the writer (the persister keeps committing into the WAL meanwhile), and
// since the snapshot cannot change under it the copy does not restart when
// the writer commits, as a backup without it would at every commit. Pages
// go over `pages_per_step` at a time with a pause between steps, so the copy
// shares the disk with the writer instead of monopolising it. The copy is
// written to "<dest>.tmp", synced, switched to a single-file journal mode,
// and renamed into place: a crash mid-backup leaves no half file under the
// final name.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "schema/result.h"

namespace nightshift::sql {

struct BackupPacing {
  int pages_per_step = 256;  // 1 MiB at 4 KiB pages
  std::chrono::milliseconds pause{2};
};

struct BackupOutcome {
  int64_t pages = 0;
  int64_t steps = 0;
  int64_t bytes = 0;  // the finished file's size
  double seconds = 0;
};

Result<BackupOutcome> backup_database(const std::string& source_path, const std::string& dest_path,
                                      const BackupPacing& pacing = {});

// A file that may replace the results database: an SQLite file that passes
// PRAGMA integrity_check, with nightshift's runs table, at a schema version
// this binary knows. Returns that version.
Result<int64_t> verify_results_backup(const std::string& path);

// Copies `backup_path` over the database at `target_path` through the
// backup API (so the target's WAL and locks are respected), then migrates
// it to this binary's schema. The caller holds the run lock.
Status restore_database(const std::string& backup_path, const std::string& target_path);

}  // namespace nightshift::sql
