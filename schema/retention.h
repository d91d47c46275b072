// Deleting old rows of the history tables (telemetry, the event log) without
// stalling the writer: `nightshift prune` runs beside a live persister, and
// the persister prunes while it commits.
//
// Rows go in small transactions over rowid ranges (rows arrive in time
// order, so a rowid range is a time range), and each batch is timed: the
// next batch doubles while batches take under an eighth of `max_batch` and
// halves when one takes over a quarter, so transactions hold the write lock
// for a fraction of `max_batch` and none much longer (the persister's
// commits wait at most that).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "schema/result.h"
#include "schema/sqlite.h"

namespace nightshift {

// Which table a retention setting applies to.
struct RetentionRule {
  std::string table;  // telemetry_host, telemetry_gpu or events
  int64_t older_than_ns = 0;
};

struct PruneOutcome {
  std::string table;
  int64_t rows = 0;         // deleted (or, dry run, that would be)
  int64_t bytes = 0;        // their body bytes
  int64_t batches = 0;
  double longest_batch_ms = 0;
  bool finished = true;     // false: the time budget ran out first
};

struct PruneLimits {
  std::chrono::milliseconds max_batch{50};
  // Stop after this much time in total (the persister prunes a little per
  // housekeeping round); zero: until done.
  std::chrono::milliseconds budget{0};
  int64_t first_batch_rows = 256;
  // Copy the write-ahead log back between batches (PASSIVE: never blocks a
  // writer) instead of inside our commits. Off for the persister, whose
  // WalCheckpointer does it on a thread of its own.
  bool checkpoint_between_batches = true;
  // Step aside after each batch (twice its time, at least 10 ms) so a writer
  // waiting for the lock gets it: SQLite's busy handler sleeps in growing
  // steps, and a prune that takes the lock again at once can make a waiting
  // commit sleep through several batches. Off for the persister itself.
  bool yield_between_batches = true;
};

// The tables and cutoffs for retention settings in days (0: keep all).
std::vector<RetentionRule> retention_rules(int telemetry_days, int events_days, int64_t now_ns);

// Counts what `rule` would delete, without deleting.
Result<PruneOutcome> count_prunable(sql::Database& db, const RetentionRule& rule);
// Deletes it in batches under `limits`.
Result<PruneOutcome> prune(sql::Database& db, const RetentionRule& rule, const PruneLimits& limits);

}  // namespace nightshift
