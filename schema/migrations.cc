#include "schema/migrations.h"

namespace nightshift::sql {

Result<int64_t> readable_version(Database& db, const std::vector<Migration>& migrations) {
  auto current = db.query_int("PRAGMA user_version");
  if (!current) return current.take_error();
  int latest = migrations.empty() ? 0 : migrations.back().version;
  if (*current > latest) {
    return make_error(ErrorKind::corrupt, db.path() + ": schema version " + std::to_string(*current) +
                      " is newer than this nightshift (" + std::to_string(latest) + ")");
  }
  return *current;
}

Status migrate(Database& db, const std::vector<Migration>& migrations) {
  auto current = readable_version(db, migrations);
  if (!current) return current.take_error();
  for (const auto& migration : migrations) {
    if (migration.version <= *current) continue;
    auto tx = Transaction::begin(db);
    if (!tx) return tx.take_error();
    if (Status s = db.exec(migration.sql); !s) {
      return make_error(s.error_kind(), db.path() + ": migration " +
                                            std::to_string(migration.version) + " (" +
                                            migration.name + ") failed: " + s.error());
    }
    if (Status s = db.exec("PRAGMA user_version=" + std::to_string(migration.version)); !s) {
      return s.take_error();
    }
    if (Status s = tx->commit(); !s) return s.take_error();
  }
  return Status::success();
}

}  // namespace nightshift::sql
