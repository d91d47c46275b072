// The market cache (var/market.db): bars keyed by (source, symbol,
// timeframe, ts), the covered range of each series, and a fetch log.
// Only the fetcher writes it. Schema: schema/sql/market/.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "schema/data_messages.h"
#include "schema/result.h"
#include "schema/sqlite.h"
#include "stages/fetcher/bar_validator.h"

namespace nightshift::fetcher {

struct SeriesKey {
  std::string source;
  std::string symbol;
  std::string timeframe;
};

struct Coverage {
  int64_t from_ts = 0;  // inclusive
  int64_t to_ts = 0;    // exclusive
  int64_t fetched_at = 0;
  bool synthetic = false;
};

struct SeriesSummary {
  SeriesKey key;
  Coverage coverage;
  int64_t bars = 0;
  int64_t first_ts = 0;
  int64_t last_ts = 0;
};

struct FetchLogEntry {
  int64_t start_ts = 0;
  int64_t end_ts = 0;
  int64_t fetched_at = 0;
  std::string status;  // ok, error
  std::string message;
  ValidationReport report;
};

class MarketCache {
 public:
  // A store in progress: bars are added batch by batch (a pipelined fetch
  // adds each page as it arrives) inside one write transaction; commit()
  // widens the coverage, appends the log row and commits. Nothing is visible
  // to readers before commit(), and a Writer destroyed without commit() rolls
  // everything back, so a range is stored whole or not at all. While a Writer
  // is open it holds the cache's write lock, and the cache must not be used
  // for anything else (it may be used from another thread than the opener's,
  // one thread at a time).
  class Writer {
   public:
    Writer(Writer&&) noexcept = default;
    Writer& operator=(Writer&&) = delete;
    // INSERT OR REPLACE in order: a ts repeated by a later batch replaces the
    // earlier row (the source's latest revision).
    Status add(const Bars& bars);
    Status commit(bool synthetic, const FetchLogEntry& log);
    uint64_t rows_added() const { return rows_added_; }

   private:
    friend class MarketCache;
    Writer(MarketCache& cache, SeriesKey key, sql::Transaction tx)
        : cache_(&cache), key_(std::move(key)), tx_(std::move(tx)) {}
    MarketCache* cache_;
    SeriesKey key_;
    sql::Transaction tx_;
    uint64_t rows_added_ = 0;
  };

  // Opens (creating if needed) and migrates the cache; WAL mode. A file that
  // is not a database, is damaged or truncated, or was written by a newer
  // nightshift is refused with one error naming it; nothing is changed.
  static Result<MarketCache> open(const std::string& path);

  // A read-only connection to a cache that open() has created and migrated
  // (the dataset service's pool threads read through one each). Only
  // coverage(), read() and list() work on it.
  static Result<MarketCache> open_read_only(const std::string& path);

  // Begins a store of bars for `key` (BEGIN IMMEDIATE: takes the write lock).
  Result<Writer> begin_store(const SeriesKey& key);

  Result<std::optional<Coverage>> coverage(const SeriesKey& key);

  // Stores validated bars for [log.start_ts, log.end_ts) and widens the
  // series' coverage to include that range, in one transaction: either the
  // bars, the coverage and the log row are all there, or none is.
  // (begin_store + add + commit.)
  Status store(const SeriesKey& key, const Bars& bars, bool synthetic, const FetchLogEntry& log);

  // Records a failed fetch (coverage untouched).
  Status log_failure(const SeriesKey& key, const FetchLogEntry& log);

  // Bars with start_ts <= ts < end_ts, oldest first.
  Result<Bars> read(const SeriesKey& key, int64_t start_ts, int64_t end_ts);

  Result<std::vector<SeriesSummary>> list();

  sql::Database& database() { return db_; }

 private:
  struct StatementDeleter {
    void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
  };

  explicit MarketCache(sql::Database db) : db_(std::move(db)) {}
  Status insert_bars(const SeriesKey& key, const Bars& bars);
  Status widen_coverage(const SeriesKey& key, bool synthetic, const FetchLogEntry& log);
  Status append_log(const SeriesKey& key, const FetchLogEntry& log);

  sql::Database db_;  // declared first: destroyed after the statement below
  // The bars INSERT, prepared once per cache and reused by every batch.
  std::unique_ptr<sqlite3_stmt, StatementDeleter> insert_bars_;
};

}  // namespace nightshift::fetcher
