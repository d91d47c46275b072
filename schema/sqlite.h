// Thin RAII wrapper over the SQLite C API: a Database, prepared Statements
// and an IMMEDIATE Transaction. Errors are values naming the SQL and SQLite's
// message; nothing here throws.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/result.h"

namespace nightshift::sql {

// The kind of failure an SQLite result code stands for (disk full, busy,
// corrupt, ...), so callers branch on the kind and not on SQLite's text.
ErrorKind error_kind_of(int rc);

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite.
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  // Binds text without copying it (SQLITE_STATIC), for hot paths: `text`
  // must stay valid until the statement has run and every parameter is bound
  // anew before it runs again.
  Statement& bind_unowned(int index, std::string_view text);
  Statement& bind_blob(int index, const void* data, std::size_t size);
  Statement& bind_null(int index);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // One step: true when a row is available, false when done.
  Result<bool> step();
  // Steps to completion (for INSERT/UPDATE/DELETE), then resets for reuse.
  Status run();
  // Resets and clears bindings for the next execution.
  void reset();
  bool valid() const { return stmt_ != nullptr; }

  int64_t column_int(int index) const;
  double column_double(int index) const;
  std::string column_text(int index) const;
  std::vector<uint8_t> column_blob(int index) const;
  // Text or blob bytes without a copy: valid until the next step or reset.
  std::string_view column_view(int index) const;
  // Result columns: how many, a column's name, and its value's type (SQLITE_*).
  int column_count() const;
  std::string column_name(int index) const;
  int column_type(int index) const;
  bool column_is_null(int index) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

struct OpenOptions {
  bool read_only = false;
  bool create = true;
  int busy_timeout_ms = 5000;
  // WAL + synchronous=NORMAL: a commit survives a process crash; after a power
  // loss the last commits may roll back but the file stays consistent.
  bool wal = true;
  std::string synchronous = "NORMAL";
};

class Database {
 public:
  static Result<Database> open(const std::string& path, const OpenOptions& options = {});
  Database() = default;
  ~Database();
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Status exec(const std::string& sql);
  Result<Statement> prepare(const std::string& sql);
  // Runs a query expected to return one integer (e.g. COUNT(*)).
  Result<int64_t> query_int(const std::string& sql);

  int64_t last_insert_rowid() const;
  int changes() const;
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless committed.
// IMMEDIATE takes the write lock up front so a busy database fails at BEGIN
// (after busy_timeout), not halfway through a batch.
class Transaction {
 public:
  static Result<Transaction> begin(Database& db);
  ~Transaction();
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Status commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_ = nullptr;
  bool done_ = false;
};

}  // namespace nightshift::sql
