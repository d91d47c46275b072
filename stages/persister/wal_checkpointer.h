// WalCheckpointer: copies the results database's write-ahead log back into
// the database file on a thread of its own, so the persister's writer never
// waits for it.
//
// SQLite's default runs that checkpoint inside the COMMIT that takes the log
// past 1000 pages: reading the log, writing the database and two fsyncs, all
// on the writer's thread while results queue up behind it. Here the writer's
// commit hook only rings a bell and a second connection does the copy
// (PASSIVE: it never blocks the writer or a reader). Durability is the same:
// a commit is in the log when COMMIT returns, and the checkpoint fsyncs the
// log before it copies and the database after, as before. Should this thread
// fall far behind (the log past `inline_pages`), the writer checkpoints
// itself, as SQLite would, so the log stays bounded.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "schema/result.h"
#include "schema/sqlite.h"
#include "base/log.h"

namespace nightshift::persister {

struct CheckpointPolicy {
  int pages = 1000;          // SQLite's own wal_autocheckpoint default
  int inline_pages = 32000;  // about 128 MiB of log: the writer steps in
};

class WalCheckpointer {
 public:
  // Opens a second connection to `writer`'s database and takes over
  // `writer`'s checkpoints (its WAL hook) until destroyed. Call before the
  // writer connection is used from another thread.
  static Result<std::unique_ptr<WalCheckpointer>> start(sql::Database& writer,
                                                        CheckpointPolicy policy = {});
  // Gives the checkpoints back to `writer` (SQLite's default) and joins.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  uint64_t checkpoints() const;  // completed by this thread so far

 private:
  WalCheckpointer(sql::Database& writer, sql::Database own, CheckpointPolicy policy);
  static int on_commit(void* self, sqlite3* db, const char* schema, int log_pages);
  void copy_log_when_due();

  sqlite3* writer_;
  sql::Database own_;
  CheckpointPolicy policy_;
  RateLimitedLog error_log_{std::chrono::seconds(10)};
  mutable std::mutex mutex_;
  std::condition_variable due_cv_;
  bool due_ = false;
  bool stopping_ = false;
  uint64_t checkpoints_ = 0;
  std::thread thread_;  // last: starts once everything above is set
};

}  // namespace nightshift::persister
