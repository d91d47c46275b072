// DatasetStore: answers "bars for (source, symbol, timeframe, [start, end))"
// from the market cache, asking the source only for what the cache lacks.
//
// Incremental rule: a series remembers the range it covers. A request inside
// it costs no request at all; a request reaching past it fetches only the
// missing head [start, covered_from) and tail [covered_to, end). The tail of
// a series that reached "now" when fetched is fresh for one timeframe
// (minimum 60 s, the TTL), so a night run polling the same series does not
// re-ask the source for a bar that cannot have closed yet.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "schema/data_messages.h"
#include "schema/result.h"
#include "stages/fetcher/market_cache.h"
#include "stages/fetcher/source.h"

namespace nightshift::fetcher {

struct DatasetQuery {
  std::string source;
  std::string symbol;
  std::string timeframe;
  int64_t start_ts = 0;  // 0: end - the timeframe's history (FetcherConfig::history_days_for)
  int64_t end_ts = 0;    // 0: now
};

struct DatasetAnswer {
  Bars bars;
  bool synthetic = false;
  int fetches = 0;           // source fetches this query needed (0 = all cached)
  uint64_t rows_stored = 0;  // rows added to the cache by this query
  ValidationReport report;   // of the last fetch, if any
};

class DatasetStore {
 public:
  using Clock = std::function<int64_t()>;  // seconds since epoch

  // history_days_for(timeframe): how far back a query without start_ts reaches.
  using History = std::function<int(const std::string& timeframe)>;
  DatasetStore(MarketCache& cache, History history_days_for, Clock clock = {});
  DatasetStore(MarketCache& cache, int history_days, Clock clock = {})
      : DatasetStore(cache, [history_days](const std::string&) { return history_days; }, std::move(clock)) {}

  // Sources by name ("synthetic", "yahoo", ...). The store owns them.
  void add_source(std::unique_ptr<BarSource> source);
  bool has_source(const std::string& name) const { return sources_.count(name) > 0; }
  BarSource* source(const std::string& name);

  Result<DatasetAnswer> get(const DatasetQuery& query, const ProgressSink& progress = {});

  // The same query with its range made explicit (start and end as get()
  // would compute them now), after the checks get() makes first: a known
  // source and timeframe, a symbol, a non-empty range. Resolving once keeps
  // get_cached() and a following get() on the same range.
  Result<DatasetQuery> resolve(const DatasetQuery& query) const;

  // Answers a resolved query from `reader` (a read-only connection to the
  // same market cache, one per thread) when the cache covers it and nothing
  // needs fetching; nullopt when get() has to fetch first. Touches no state
  // of the store but its (constant) sources, so threads may call it at once,
  // each with its own reader, while one thread is inside get().
  Result<std::optional<DatasetAnswer>> get_cached(MarketCache& reader,
                                                  const DatasetQuery& resolved) const;
  // Offline (`nightshift rerun`): answer from the cache alone; a query the
  // cache does not cover is an error naming it, never a fetch.
  void set_offline(bool offline) { offline_ = offline; }

 private:
  const BarSource* find_source(const std::string& name) const;
  Status fetch_into_cache(BarSource& source, const SeriesKey& key, int64_t from, int64_t to,
                          int64_t timeframe_s, DatasetAnswer& answer, const ProgressSink& progress);

  MarketCache& cache_;
  History history_days_for_;
  Clock clock_;
  bool offline_ = false;
  std::map<std::string, std::unique_ptr<BarSource>> sources_;
};

}  // namespace nightshift::fetcher
