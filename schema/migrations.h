// Numbered SQL migrations, applied on open. The SQL lives in
// schema/sql/<database>/NNN_name.sql and is compiled in (see
// schema/CMakeLists.txt); PRAGMA user_version records the last one applied.
#pragma once

#include <string>
#include <vector>

#include "schema/result.h"
#include "schema/sqlite.h"

namespace nightshift::sql {

struct Migration {
  int version = 0;
  std::string name;
  std::string sql;
};

// Migrations of the results database (var/nightshift.db) and of the market
// cache (var/market.db), in version order.
const std::vector<Migration>& results_migrations();
const std::vector<Migration>& market_migrations();

// Applies every migration newer than the database's user_version, each in
// its own transaction. A database newer than this binary is an error.
Status migrate(Database& db, const std::vector<Migration>& migrations);
// The file's schema version, or an error (kind corrupt) when it is newer than
// `migrations` know: for readers, who never migrate.
Result<int64_t> readable_version(Database& db, const std::vector<Migration>& migrations);

}  // namespace nightshift::sql
