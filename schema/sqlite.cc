#include "schema/sqlite.h"

#include <unistd.h>

#include <filesystem>
#include <utility>

namespace nightshift::sql {
namespace {

// SQLite reads the file only at the first statement after sqlite3_open_v2,
// so a file that is not a database, or one cut short, fails there; say so in
// the operator's words rather than as the failing PRAGMA.
std::string open_failure(const std::string& path, sqlite3* db, const std::string& detail) {
  const std::string prefix = "cannot open database " + path + ": ";
  switch (sqlite3_errcode(db) & 0xff) {
    case SQLITE_NOTADB:
      return prefix + "not a SQLite database (SQLite: " + sqlite3_errmsg(db) + ")";
    case SQLITE_CORRUPT:
      return prefix + "the file is damaged or truncated (SQLite: " + sqlite3_errmsg(db) + ")";
    case SQLITE_READONLY:
      return prefix + "it is read-only here, and its write-ahead log (-wal) holds commits that "
                      "reading needs write access to merge (SQLite: " + sqlite3_errmsg(db) + ")";
    default:
      return prefix + detail;
  }
}

// A "file:" URI for `path` (RFC 3986 escaping of what SQLite would read as
// a query, a fragment or an escape).
std::string file_uri(const std::string& path, const char* query) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      uri += '%';
      uri += kHex[(static_cast<unsigned char>(c) >> 4) & 0xf];
      uri += kHex[static_cast<unsigned char>(c) & 0xf];
    } else {
      uri += c;
    }
  }
  return uri + "?" + query;
}

// A reader of a WAL database needs to create its -shm file beside it. When
// the folder is read-only (a backup on read-only media, another user's run)
// and no -wal holds commits the file lacks, nothing can be writing it: read
// the file as immutable instead of failing.
bool readable_as_immutable(const std::string& path) {
  std::filesystem::path file(path);
  std::filesystem::path folder = file.has_parent_path() ? file.parent_path() : ".";
  if (::access(folder.c_str(), W_OK) == 0) return false;
  std::error_code ec;
  auto wal_size = std::filesystem::file_size(path + "-wal", ec);
  return ec || wal_size == 0;
}

}  // namespace

ErrorKind error_kind_of(int rc) {
  switch (rc & 0xff) {  // the primary code of an extended one
    case SQLITE_FULL: return ErrorKind::disk_full;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return ErrorKind::busy;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return ErrorKind::corrupt;
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_IOERR: return ErrorKind::unavailable;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG: return ErrorKind::invalid_input;
    default: return ErrorKind::other;
  }
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_unowned(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  return *this;
}

Statement& Statement::bind_blob(int index, const void* data, std::size_t size) {
  sqlite3_bind_blob(stmt_, index, data, static_cast<int>(size), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string message = std::string(sqlite3_errmsg(db_)) + " (in: " +
                        std::string(sqlite3_sql(stmt_)).substr(0, 120) + ")";
  sqlite3_reset(stmt_);
  return make_error(error_kind_of(sqlite3_extended_errcode(db_)), message);
}

Status Statement::run() {
  while (true) {
    auto row = step();
    if (!row) return row.take_error();
    if (!*row) break;
  }
  sqlite3_reset(stmt_);
  return Status::success();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }

double Statement::column_double(int index) const { return sqlite3_column_double(stmt_, index); }

std::string Statement::column_text(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index)));
}

std::vector<uint8_t> Statement::column_blob(int index) const {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, index));
  int size = sqlite3_column_bytes(stmt_, index);
  if (data == nullptr || size <= 0) return {};
  return std::vector<uint8_t>(data, data + size);
}

std::string_view Statement::column_view(int index) const {
  // sqlite3_column_blob first, then _bytes: the order SQLite documents for
  // reading a value without a conversion.
  const void* data = sqlite3_column_blob(stmt_, index);
  int size = sqlite3_column_bytes(stmt_, index);
  if (data == nullptr || size <= 0) return {};
  return std::string_view(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

int Statement::column_count() const { return sqlite3_column_count(stmt_); }

std::string Statement::column_name(int index) const {
  const char* name = sqlite3_column_name(stmt_, index);
  return name == nullptr ? std::string() : std::string(name);
}

int Statement::column_type(int index) const { return sqlite3_column_type(stmt_, index); }

bool Statement::column_is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

Result<Database> Database::open(const std::string& path, const OpenOptions& options) {
  if (options.create && !options.read_only) {
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  }
  // Every SQLite file is a whole number of pages, and a page is at least 512
  // bytes; SQLite itself reads a file cut inside its first page as empty.
  std::error_code size_error;
  const auto size = std::filesystem::file_size(path, size_error);
  if (!size_error && size % 512 != 0) {
    return make_error(ErrorKind::corrupt, "cannot open database " + path +
                                              ": the file is damaged or truncated (" +
                                              std::to_string(size) +
                                              " bytes is not a whole number of pages)");
  }
  int flags = options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (options.create && !options.read_only) flags |= SQLITE_OPEN_CREATE;
  flags |= SQLITE_OPEN_NOMUTEX;
  Database db;
  db.path_ = path;
  int rc = sqlite3_open_v2(path.c_str(), &db.db_, flags, nullptr);
  if (rc == SQLITE_OK && options.read_only) {
    auto probe = db.query_int("PRAGMA schema_version");
    int code = sqlite3_errcode(db.db_) & 0xff;
    if (!probe && (code == SQLITE_READONLY || code == SQLITE_CANTOPEN) &&
        readable_as_immutable(path)) {
      sqlite3_close_v2(db.db_);
      db.db_ = nullptr;
      rc = sqlite3_open_v2(file_uri(path, "immutable=1").c_str(), &db.db_,
                           flags | SQLITE_OPEN_URI, nullptr);
    }
  }
  if (rc != SQLITE_OK) {
    std::string message = db.db_ != nullptr ? sqlite3_errmsg(db.db_) : sqlite3_errstr(rc);
    return make_error(error_kind_of(rc), "cannot open database " + path + ": " + message);
  }
  sqlite3_busy_timeout(db.db_, options.busy_timeout_ms);
  sqlite3_extended_result_codes(db.db_, 1);
  if (!options.read_only) {
    if (options.wal) {
      if (Status s = db.exec("PRAGMA journal_mode=WAL"); !s) {
        return make_error(s.error_kind(), open_failure(path, db.db_, s.error()));
      }
    }
    if (Status s = db.exec("PRAGMA synchronous=" + options.synchronous); !s) {
      return make_error(s.error_kind(), open_failure(path, db.db_, s.error()));
    }
  }
  // Read page 1 and the schema now, so that a foreign, cut or damaged file is
  // refused here with one error rather than by the first query that needs it.
  if (auto version = db.query_int("PRAGMA schema_version"); !version) {
    return make_error(version.error_kind(), open_failure(path, db.db_, version.error()));
  }
  if (Status s = db.exec("PRAGMA foreign_keys=ON"); !s) return s.take_error();
  return db;
}

Database::~Database() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

Status Database::exec(const std::string& sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status::success();
  std::string error = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return make_error(error_kind_of(sqlite3_extended_errcode(db_)),
                    error + " (in: " + sql.substr(0, 120) + ")");
}

Result<Statement> Database::prepare(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return make_error(error_kind_of(rc),
                      std::string(sqlite3_errmsg(db_)) + " (in: " + sql.substr(0, 120) + ")");
  }
  return Statement(db_, stmt);
}

Result<int64_t> Database::query_int(const std::string& sql) {
  auto stmt = prepare(sql);
  if (!stmt) return stmt.take_error();
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row) return make_error("no row (in: " + sql.substr(0, 120) + ")");
  return stmt->column_int(0);
}

int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int Database::changes() const { return sqlite3_changes(db_); }

Result<Transaction> Transaction::begin(Database& db) {
  if (Status s = db.exec("BEGIN IMMEDIATE"); !s) return s.take_error();
  return Transaction(&db);
}

Transaction::Transaction(Transaction&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), done_(other.done_) {}

Transaction::~Transaction() {
  if (db_ != nullptr && !done_) (void)db_->exec("ROLLBACK");
}

Status Transaction::commit() {
  done_ = true;
  Status s = db_->exec("COMMIT");
  if (!s) (void)db_->exec("ROLLBACK");
  return s;
}

}  // namespace nightshift::sql
