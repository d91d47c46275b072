#include "stages/fetcher/market_cache.h"

#include "schema/migrations.h"

namespace nightshift::fetcher {

Result<MarketCache> MarketCache::open(const std::string& path) {
  auto db = sql::Database::open(path);
  if (!db) return make_error(db.error_kind(), "market cache: " + db.error());
  if (Status s = sql::migrate(*db, sql::market_migrations()); !s) {
    return make_error(s.error_kind(), "market cache: " + s.error());
  }
  return MarketCache(std::move(*db));
}

Result<MarketCache> MarketCache::open_read_only(const std::string& path) {
  sql::OpenOptions options;
  options.read_only = true;
  options.create = false;
  auto db = sql::Database::open(path, options);
  if (!db) return make_error(db.error_kind(), "market cache: " + db.error());
  return MarketCache(std::move(*db));
}

Result<std::optional<Coverage>> MarketCache::coverage(const SeriesKey& key) {
  auto stmt = db_.prepare(
      "SELECT covered_from, covered_to, fetched_at, synthetic FROM series "
      "WHERE source = ?1 AND symbol = ?2 AND timeframe = ?3");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, key.source).bind(2, key.symbol).bind(3, key.timeframe);
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<Coverage>{};
  return std::optional<Coverage>(Coverage{stmt->column_int(0), stmt->column_int(1),
                                          stmt->column_int(2), stmt->column_int(3) != 0});
}

Status MarketCache::insert_bars(const SeriesKey& key, const Bars& bars) {
  sqlite3* db = db_.handle();
  if (!insert_bars_) {
    // INSERT OR REPLACE: a re-fetched bar is the source's latest revision.
    static constexpr const char* kSql =
        "INSERT OR REPLACE INTO bars (source, symbol, timeframe, ts, open, high, low, close, volume) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db, kSql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
      return make_error(std::string(sqlite3_errmsg(db)) + " (in: " + kSql + ")");
    }
    insert_bars_.reset(stmt);
  }
  sqlite3_stmt* stmt = insert_bars_.get();
  // The key is bound once per batch, without a copy (SQLITE_STATIC: `key`
  // outlives the loop; the bindings are cleared before returning).
  sqlite3_bind_text(stmt, 1, key.source.data(), static_cast<int>(key.source.size()), SQLITE_STATIC);
  sqlite3_bind_text(stmt, 2, key.symbol.data(), static_cast<int>(key.symbol.size()), SQLITE_STATIC);
  sqlite3_bind_text(stmt, 3, key.timeframe.data(), static_cast<int>(key.timeframe.size()),
                    SQLITE_STATIC);
  Status status;
  for (std::size_t i = 0; i < bars.size(); ++i) {
    sqlite3_bind_int64(stmt, 4, bars.ts[i]);
    sqlite3_bind_double(stmt, 5, bars.open[i]);
    sqlite3_bind_double(stmt, 6, bars.high[i]);
    sqlite3_bind_double(stmt, 7, bars.low[i]);
    sqlite3_bind_double(stmt, 8, bars.close[i]);
    sqlite3_bind_double(stmt, 9, bars.volume[i]);
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
      status = make_error(std::string(sqlite3_errmsg(db)) + " (inserting bar ts=" +
                          std::to_string(bars.ts[i]) + " into bars)");
      sqlite3_reset(stmt);
      break;
    }
    sqlite3_reset(stmt);
  }
  sqlite3_clear_bindings(stmt);
  return status;
}

Status MarketCache::widen_coverage(const SeriesKey& key, bool synthetic, const FetchLogEntry& log) {
  auto stmt = db_.prepare(
      "INSERT INTO series (source, symbol, timeframe, synthetic, covered_from, covered_to, "
      "fetched_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
      "ON CONFLICT (source, symbol, timeframe) DO UPDATE SET "
      "covered_from = MIN(covered_from, excluded.covered_from), "
      "covered_to = MAX(covered_to, excluded.covered_to), "
      "fetched_at = excluded.fetched_at, synthetic = excluded.synthetic");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, key.source).bind(2, key.symbol).bind(3, key.timeframe);
  stmt->bind(4, synthetic ? 1 : 0).bind(5, log.start_ts).bind(6, log.end_ts).bind(7, log.fetched_at);
  return stmt->run();
}

Status MarketCache::append_log(const SeriesKey& key, const FetchLogEntry& log) {
  auto stmt = db_.prepare(
      "INSERT INTO fetch_log (source, symbol, timeframe, start_ts, end_ts, fetched_at, status, "
      "rows_in, rows_stored, rows_rejected, rows_repaired, duplicates, gaps, message) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
  if (!stmt) return stmt.take_error();
  const auto& r = log.report;
  stmt->bind(1, key.source).bind(2, key.symbol).bind(3, key.timeframe);
  stmt->bind(4, log.start_ts).bind(5, log.end_ts).bind(6, log.fetched_at).bind(7, log.status);
  stmt->bind(8, static_cast<int64_t>(r.rows_in)).bind(9, static_cast<int64_t>(r.rows_kept));
  stmt->bind(10, static_cast<int64_t>(r.rejected)).bind(11, static_cast<int64_t>(r.repaired));
  stmt->bind(12, static_cast<int64_t>(r.duplicates)).bind(13, static_cast<int64_t>(r.gaps));
  stmt->bind(14, log.message);
  return stmt->run();
}

Result<MarketCache::Writer> MarketCache::begin_store(const SeriesKey& key) {
  auto tx = sql::Transaction::begin(db_);
  if (!tx) return tx.take_error();
  return Writer(*this, key, std::move(*tx));
}

Status MarketCache::Writer::add(const Bars& bars) {
  if (Status s = cache_->insert_bars(key_, bars); !s) return s;
  rows_added_ += bars.size();
  return Status::success();
}

Status MarketCache::Writer::commit(bool synthetic, const FetchLogEntry& log) {
  if (Status s = cache_->widen_coverage(key_, synthetic, log); !s) return s;
  if (Status s = cache_->append_log(key_, log); !s) return s;
  return tx_.commit();
}

Status MarketCache::store(const SeriesKey& key, const Bars& bars, bool synthetic,
                          const FetchLogEntry& log) {
  auto writer = begin_store(key);
  if (!writer) return writer.take_error();
  if (Status s = writer->add(bars); !s) return s;
  return writer->commit(synthetic, log);
}

Status MarketCache::log_failure(const SeriesKey& key, const FetchLogEntry& log) {
  return append_log(key, log);
}

Result<Bars> MarketCache::read(const SeriesKey& key, int64_t start_ts, int64_t end_ts) {
  auto stmt = db_.prepare(
      "SELECT ts, open, high, low, close, volume FROM bars WHERE source = ?1 AND symbol = ?2 "
      "AND timeframe = ?3 AND ts >= ?4 AND ts < ?5 ORDER BY ts");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, key.source).bind(2, key.symbol).bind(3, key.timeframe);
  stmt->bind(4, start_ts).bind(5, end_ts);
  Bars bars;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.take_error();
    if (!*row) break;
    bars.push_back({stmt->column_int(0), stmt->column_double(1), stmt->column_double(2),
                    stmt->column_double(3), stmt->column_double(4), stmt->column_double(5)});
  }
  return bars;
}

Result<std::vector<SeriesSummary>> MarketCache::list() {
  auto stmt = db_.prepare(
      "SELECT s.source, s.symbol, s.timeframe, s.covered_from, s.covered_to, s.fetched_at, "
      "s.synthetic, COUNT(b.ts), COALESCE(MIN(b.ts), 0), COALESCE(MAX(b.ts), 0) FROM series s "
      "LEFT JOIN bars b ON b.source = s.source AND b.symbol = s.symbol AND "
      "b.timeframe = s.timeframe GROUP BY s.source, s.symbol, s.timeframe "
      "ORDER BY s.symbol, s.timeframe, s.source");
  if (!stmt) return stmt.take_error();
  std::vector<SeriesSummary> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.take_error();
    if (!*row) break;
    SeriesSummary s;
    s.key = {stmt->column_text(0), stmt->column_text(1), stmt->column_text(2)};
    s.coverage = {stmt->column_int(3), stmt->column_int(4), stmt->column_int(5),
                  stmt->column_int(6) != 0};
    s.bars = stmt->column_int(7);
    s.first_ts = stmt->column_int(8);
    s.last_ts = stmt->column_int(9);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace nightshift::fetcher
