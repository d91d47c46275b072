#include "schema/backup.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "schema/migrations.h"
#include "schema/results_store.h"
#include "schema/sqlite.h"

namespace nightshift::sql {
namespace {

namespace fs = std::filesystem;

Status sqlite_error(sqlite3* db, const std::string& what) {
  int rc = sqlite3_extended_errcode(db);
  return make_error(error_kind_of(rc), what + ": " + sqlite3_errmsg(db));
}

// fsync of a file or folder by path; false if it could not be opened.
bool sync_path(const std::string& path, bool folder) {
  int fd = ::open(path.c_str(), (folder ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// Copies every page of `source` into `dest` (both open), in paced steps.
Result<BackupOutcome> copy_pages(sqlite3* dest, sqlite3* source, const BackupPacing& pacing) {
  BackupOutcome out;
  sqlite3_backup* backup = sqlite3_backup_init(dest, "main", source, "main");
  if (backup == nullptr) return sqlite_error(dest, "starting the backup").take_error();
  int rc = SQLITE_OK;
  while (true) {
    rc = sqlite3_backup_step(backup, pacing.pages_per_step);
    ++out.steps;
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    if (pacing.pause.count() > 0) std::this_thread::sleep_for(pacing.pause);
  }
  out.pages = sqlite3_backup_pagecount(backup);
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    return make_error(error_kind_of(rc), std::string("backup step: ") + sqlite3_errstr(rc));
  }
  return out;
}

}  // namespace

Result<BackupOutcome> backup_database(const std::string& source_path, const std::string& dest_path,
                                      const BackupPacing& pacing) {
  const auto started = std::chrono::steady_clock::now();
  if (!fs::exists(source_path)) {
    return make_error(ErrorKind::not_found, "database " + source_path + " does not exist");
  }
  OpenOptions reader;
  reader.read_only = true;
  reader.create = false;
  reader.wal = false;
  auto source = Database::open(source_path, reader);
  if (!source) return source.take_error();
  // One read transaction over the whole copy: a fixed snapshot (see the header).
  if (auto st = source->exec("BEGIN"); !st) return st.take_error();
  if (auto n = source->query_int("SELECT COUNT(*) FROM sqlite_master"); !n) return n.take_error();

  const std::string temp = dest_path + ".tmp";
  std::error_code ec;
  fs::remove(temp, ec);
  if (fs::path(dest_path).has_parent_path()) fs::create_directories(fs::path(dest_path).parent_path(), ec);
  OpenOptions writer;
  writer.wal = false;
  writer.synchronous = "FULL";
  auto dest = Database::open(temp, writer);
  if (!dest) return dest.take_error();
  auto copied = copy_pages(dest->handle(), source->handle(), pacing);
  (void)source->exec("COMMIT");
  if (!copied) {
    fs::remove(temp, ec);
    return make_error(copied.error_kind(), "backup of " + source_path + ": " + copied.error());
  }
  // The copy carries the source's WAL flag; a backup is one self-contained file.
  if (auto st = dest->exec("PRAGMA journal_mode=DELETE"); !st) {
    fs::remove(temp, ec);
    return st.take_error();
  }
  *dest = Database();  // close before the rename
  if (!sync_path(temp, false)) {
    fs::remove(temp, ec);
    return make_error("backup " + temp + ": cannot sync");
  }
  fs::rename(temp, dest_path, ec);
  if (ec) {
    fs::remove(temp, ec);
    return make_error("backup " + dest_path + ": rename failed: " + ec.message());
  }
  const std::string folder = fs::path(dest_path).has_parent_path() ? fs::path(dest_path).parent_path().string() : ".";
  sync_path(folder, true);
  copied->bytes = static_cast<int64_t>(fs::file_size(dest_path, ec));
  copied->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return copied;
}

Result<int64_t> verify_results_backup(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return make_error(ErrorKind::not_found, path + ": no such file");
  OpenOptions reader;
  reader.read_only = true;
  reader.create = false;
  reader.wal = false;
  auto db = Database::open(path, reader);
  if (!db) return db.take_error();
  auto check = db->prepare("PRAGMA integrity_check");
  if (!check) return make_error(ErrorKind::corrupt, path + ": not an SQLite database: " + check.error());
  auto row = check->step();
  if (!row) return make_error(ErrorKind::corrupt, path + ": integrity check failed: " + row.error());
  const std::string verdict = *row ? check->column_text(0) : "no answer";
  if (verdict != "ok") return make_error(ErrorKind::corrupt, path + ": integrity check failed: " + verdict);
  auto version = readable_version(*db, results_migrations());
  if (!version) return make_error(version.error_kind(), version.error());
  auto runs = db->query_int("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'runs'");
  if (!runs || *runs == 0) {
    return make_error(ErrorKind::invalid_input, path + ": not a nightshift results database (no runs table)");
  }
  return *version;
}

Status restore_database(const std::string& backup_path, const std::string& target_path) {
  OpenOptions reader;
  reader.read_only = true;
  reader.create = false;
  reader.wal = false;
  auto source = Database::open(backup_path, reader);
  if (!source) return source.take_error();
  auto target = Database::open(target_path);
  if (!target) return target.take_error();
  BackupPacing whole;
  whole.pages_per_step = -1;  // nothing writes beside us: the caller holds the run lock
  whole.pause = std::chrono::milliseconds(0);
  auto copied = copy_pages(target->handle(), source->handle(), whole);
  if (!copied) return make_error(copied.error_kind(), "restoring " + backup_path + ": " + copied.error());
  if (auto st = target->exec("PRAGMA journal_mode=WAL"); !st) return st;
  if (auto st = migrate(*target, results_migrations()); !st) return st;
  return Status::success();
}

}  // namespace nightshift::sql
