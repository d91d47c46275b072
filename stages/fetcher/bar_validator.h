// Validation of bars on ingest, before anything reaches the market cache.
//
// Rules, applied in this order (each problem is counted, never silent):
//   1. A row with a non-finite or non-positive open/high/low/close, or a
//      non-finite or negative volume, is rejected.
//   2. A row whose high < low is rejected (the source contradicts itself).
//   3. A row whose high/low do not contain open and close is repaired: high
//      becomes max(open, high, close), low becomes min(open, low, close).
//   4. Rows out of time order are sorted (counted as reordered).
//   5. Rows with the same ts: the last one received is kept (the source's
//      latest revision), the earlier ones are dropped as duplicates.
//   6. Gaps (consecutive bars further apart than one timeframe) are counted
//      and reported, not filled: markets close, and inventing bars would be
//      worse than a hole.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "schema/data_messages.h"

namespace nightshift::fetcher {

struct ValidationReport {
  uint64_t rows_in = 0;
  uint64_t rows_kept = 0;
  uint64_t rejected = 0;
  uint64_t repaired = 0;
  uint64_t reordered = 0;
  uint64_t duplicates = 0;
  uint64_t gaps = 0;
  std::vector<std::string> examples;  // the first few problems, for logs

  std::string summary() const;
};

// Cleans `bars` in place by the rules above. `timeframe_s` sizes the gap rule.
ValidationReport validate_bars(Bars& bars, int64_t timeframe_s);

// The same rules over a range that arrives page by page (a pipelined fetch
// stores page n while page n+1 is in flight). add() cleans one page in place:
// rules 1-3, and 4-5 within the page (sorted, last row of a ts kept). Rows
// that repeat a ts of an earlier page stay in the later page: stored after
// the earlier one with INSERT OR REPLACE, the later row wins, as rule 5 says.
// finish() gives the report validate_bars would give for all pages
// concatenated (counts equal; examples may come in a different order).
class BarValidator {
 public:
  explicit BarValidator(int64_t timeframe_s) : timeframe_s_(timeframe_s) {}
  void add(Bars& page);
  ValidationReport finish() const;

 private:
  int64_t timeframe_s_;
  ValidationReport report_;
  std::vector<int64_t> seen_;  // distinct ts of every kept row so far, sorted
  bool have_last_ = false;
  int64_t last_arrival_ts_ = 0;  // last kept row in arrival order (rule 4 count)
};

}  // namespace nightshift::fetcher
