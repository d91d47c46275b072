#include "stages/persister/wal_checkpointer.h"

#include <pthread.h>

#include <string>

namespace nightshift::persister {
namespace {

constexpr int kSqliteDefaultPages = 1000;  // SQLITE_DEFAULT_WAL_AUTOCHECKPOINT

}  // namespace

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::start(sql::Database& writer,
                                                              CheckpointPolicy policy) {
  auto own = sql::Database::open(writer.path());
  if (!own) return make_error("checkpointer: " + own.error());
  return std::unique_ptr<WalCheckpointer>(new WalCheckpointer(writer, std::move(*own), policy));
}

WalCheckpointer::WalCheckpointer(sql::Database& writer, sql::Database own,
                                 CheckpointPolicy policy)
    : writer_(writer.handle()), own_(std::move(own)), policy_(policy) {
  // Replaces the writer's autocheckpoint, which is itself a WAL hook.
  sqlite3_wal_hook(writer_, &WalCheckpointer::on_commit, this);
  thread_ = std::thread([this] { copy_log_when_due(); });
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  due_cv_.notify_one();
  thread_.join();
  // The writer checkpoints itself again, as SQLite does by default.
  sqlite3_wal_autocheckpoint(writer_, kSqliteDefaultPages);
}

uint64_t WalCheckpointer::checkpoints() const {
  std::lock_guard lock(mutex_);
  return checkpoints_;
}

// Runs on the writer's thread after each commit, with the log's size in pages.
int WalCheckpointer::on_commit(void* self, sqlite3* db, const char* schema, int log_pages) {
  auto& checkpointer = *static_cast<WalCheckpointer*>(self);
  if (log_pages >= checkpointer.policy_.inline_pages) {
    // The checkpoint thread is stuck (a long reader, a failing disk): do what
    // SQLite would have done all along rather than let the log grow.
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  if (log_pages >= checkpointer.policy_.pages) {
    {
      std::lock_guard lock(checkpointer.mutex_);
      checkpointer.due_ = true;
    }
    checkpointer.due_cv_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::copy_log_when_due() {
  pthread_setname_np(pthread_self(), "persister-wal");
  std::unique_lock lock(mutex_);
  while (true) {
    due_cv_.wait(lock, [&] { return due_ || stopping_; });
    if (stopping_) return;
    due_ = false;
    lock.unlock();
    int log_pages = 0, copied_pages = 0;
    int rc = sqlite3_wal_checkpoint_v2(own_.handle(), "main", SQLITE_CHECKPOINT_PASSIVE,
                                       &log_pages, &copied_pages);
    // BUSY: another checkpoint is running (the writer's fallback); the next
    // commit rings again. Anything else (I/O error, disk full) only delays
    // the copy: every commit stays in the log, nothing is lost.
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      error_log_.warn("checkpointing " + own_.path() + ": " + sqlite3_errmsg(own_.handle()));
    }
    lock.lock();
    checkpoints_ += rc == SQLITE_OK;
  }
}

}  // namespace nightshift::persister
