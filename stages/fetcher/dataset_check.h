// Whether the market cache still holds the exact bars a stored run used:
// `nightshift rerun` checks every dataset of the run before it starts
// anything, so a changed or missing dataset stops it with one line naming
// the dataset, instead of a silent re-fetch and results that cannot match.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "schema/result.h"

namespace nightshift::fetcher {

// One dataset a run used: bars of (source, symbol, timeframe) whose open
// times run from first_ts to last_ts (seconds, inclusive), with the
// fingerprint the dataset service gave them (dataset::fingerprint).
struct DatasetUse {
  std::string source;
  std::string symbol;
  std::string timeframe;
  int64_t first_ts = 0;
  int64_t last_ts = 0;
  std::string fingerprint;

  // "synthetic BTCUSDT 1h 2026-01-01T00:00Z..2026-06-30T23:00Z"
  std::string describe() const;
};

// Reads each range from the cache at `market_db` (never fetching, never
// creating the file) and compares fingerprints. The first dataset that is
// missing or differs is the error: its description, the stored and the
// found fingerprint.
Status check_datasets(const std::string& market_db, const std::vector<DatasetUse>& uses);

}  // namespace nightshift::fetcher
