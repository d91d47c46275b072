// The market cache (var/market.db): bars keyed by (source, symbol,
// timeframe, ts), the covered range of each series, and a fetch log.
// Only the fetcher writes it. Schema: schema/sql/market/.
#pragma once

#include <cstdint>
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
  // Opens (creating if needed) and migrates the cache; WAL mode.
  static Result<MarketCache> open(const std::string& path);

  Result<std::optional<Coverage>> coverage(const SeriesKey& key);

  // Stores validated bars for [log.start_ts, log.end_ts) and widens the
  // series' coverage to include that range, in one transaction: either the
  // bars, the coverage and the log row are all there, or none is.
  Status store(const SeriesKey& key, const Bars& bars, bool synthetic, const FetchLogEntry& log);

  // Records a failed fetch (coverage untouched).
  Status log_failure(const SeriesKey& key, const FetchLogEntry& log);

  // Bars with start_ts <= ts < end_ts, oldest first.
  Result<Bars> read(const SeriesKey& key, int64_t start_ts, int64_t end_ts);

  Result<std::vector<SeriesSummary>> list();

  sql::Database& database() { return db_; }

 private:
  explicit MarketCache(sql::Database db) : db_(std::move(db)) {}
  Status insert_bars(const SeriesKey& key, const Bars& bars);
  Status widen_coverage(const SeriesKey& key, bool synthetic, const FetchLogEntry& log);
  Status append_log(const SeriesKey& key, const FetchLogEntry& log);

  sql::Database db_;
};

}  // namespace nightshift::fetcher
