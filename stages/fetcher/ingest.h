// ingest_range: a source's bars for one range into the market cache, with
// fetching and storing overlapped.
//
// The calling thread runs the source (HTTP, politeness, JSON, progress and
// notices stay on it) and validates each page as it arrives (BarValidator);
// a writer thread adds the pages to the cache through one MarketCache::Writer
// while the next page is in flight. At most kQueuedPages pages wait between
// the two, so a slow disk slows the fetch instead of piling up memory.
//
// All or nothing, as before: the pages go into one write transaction, which
// is committed (with the coverage and the fetch-log row) only after the
// source has delivered the whole range. A failed page, a failed write or an
// exception rolls it back: the cache holds nothing of the range. A failed
// fetch then writes a fetch_log row with status 'error'.
//
// The transaction begins with the first page and so holds the cache's write
// lock for the rest of the fetch (other writers wait up to their busy
// timeout); a range whose first request fails never takes it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "schema/result.h"
#include "stages/fetcher/bar_validator.h"
#include "stages/fetcher/market_cache.h"
#include "stages/fetcher/source.h"

namespace nightshift::fetcher {

struct IngestStats {
  uint64_t pages = 0;
  double total_s = 0;     // the whole call
  double source_s = 0;    // calling thread inside the source: requests, waits, parsing
  double validate_s = 0;  // calling thread validating pages
  double blocked_s = 0;   // calling thread waiting for room in the page queue
  double store_s = 0;     // writer thread inserting (overlaps source_s)
  double drain_s = 0;     // after the last page: waiting for the writer to finish
  double commit_s = 0;    // coverage, log row and COMMIT after the last page
};

struct IngestResult {
  ValidationReport report;
  uint64_t rows_stored = 0;  // distinct bars now stored for the range (report.rows_kept)
  IngestStats stats;
};

inline constexpr std::size_t kQueuedPages = 4;

// Fetches [log.start_ts, log.end_ts) of `key` from `source` into `cache`.
// `log` carries the range and fetched_at; status, message and report are
// filled in here. `timeframe_s` sizes the validator's gap rule.
Result<IngestResult> ingest_range(BarSource& source, MarketCache& cache, const SeriesKey& key,
                                  FetchLogEntry log, int64_t timeframe_s,
                                  const ProgressSink& progress = {});

}  // namespace nightshift::fetcher
