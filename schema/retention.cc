#include "schema/retention.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <thread>

namespace nightshift {
namespace {

constexpr int64_t kNsPerDay = 86'400LL * 1'000'000'000LL;
constexpr int64_t kMinBatchRows = 64;
constexpr int64_t kMaxBatchRows = 200'000;

bool known_table(const std::string& table) {
  return table == "telemetry_host" || table == "telemetry_gpu" || table == "events";
}

}  // namespace

std::vector<RetentionRule> retention_rules(int telemetry_days, int events_days, int64_t now_ns) {
  std::vector<RetentionRule> rules;
  if (telemetry_days > 0) {
    rules.push_back({"telemetry_host", now_ns - telemetry_days * kNsPerDay});
    rules.push_back({"telemetry_gpu", now_ns - telemetry_days * kNsPerDay});
  }
  if (events_days > 0) rules.push_back({"events", now_ns - events_days * kNsPerDay});
  return rules;
}

Result<PruneOutcome> count_prunable(sql::Database& db, const RetentionRule& rule) {
  if (!known_table(rule.table)) return make_error("no retention for table " + rule.table);
  auto stmt = db.prepare("SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM " + rule.table +
                         " WHERE ts_ns < ?1");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, rule.older_than_ns);
  auto row = stmt->step();
  if (!row) return row.take_error();
  PruneOutcome out;
  out.table = rule.table;
  out.rows = stmt->column_int(0);
  out.bytes = stmt->column_int(1);
  return out;
}

Result<PruneOutcome> prune(sql::Database& db, const RetentionRule& rule, const PruneLimits& limits) {
  using Clock = std::chrono::steady_clock;
  if (!known_table(rule.table)) return make_error("no retention for table " + rule.table);
  PruneOutcome out;
  out.table = rule.table;
  // Rows arrive in time order, so the old ones are the first rowids: start
  // at the first row and stop at the first row that is not old. (Asking the
  // ts index for the old rows' rowid range would scan all of them.)
  auto first_from = db.prepare("SELECT rowid, ts_ns FROM " + rule.table +
                               " WHERE rowid >= ?1 ORDER BY rowid LIMIT 1");
  if (!first_from) return first_from.take_error();
  // The rowid of the first old row at or after `from`; nullopt when there is none.
  auto next_old = [&](int64_t from) -> Result<std::optional<int64_t>> {
    first_from->bind(1, from);
    auto row = first_from->step();
    if (!row) return row.take_error();
    std::optional<int64_t> rowid;
    if (*row && first_from->column_int(1) < rule.older_than_ns) rowid = first_from->column_int(0);
    first_from->reset();
    return rowid;
  };
  auto remove = db.prepare("DELETE FROM " + rule.table +
                           " WHERE rowid >= ?1 AND rowid < ?2 AND ts_ns < ?3 RETURNING LENGTH(body)");
  if (!remove) return remove.take_error();

  const double max_ms = std::chrono::duration<double, std::milli>(limits.max_batch).count();
  int64_t rows = std::clamp(limits.first_batch_rows, kMinBatchRows, kMaxBatchRows);
  // Our commits must not copy the log back while they hold the write lock
  // (SQLite's automatic checkpoint runs inside COMMIT): we do it between
  // batches, and the setting is put back at the end.
  auto autocheckpoint = db.query_int("PRAGMA wal_autocheckpoint");
  struct Restore {
    sql::Database& db;
    int64_t pages;
    bool active;
    ~Restore() {
      if (active) (void)db.exec("PRAGMA wal_autocheckpoint=" + std::to_string(pages));
    }
  } restore{db, autocheckpoint ? *autocheckpoint : 1000, limits.checkpoint_between_batches};
  if (restore.active) (void)db.exec("PRAGMA wal_autocheckpoint=0");
  auto started = Clock::now();
  auto first = next_old(std::numeric_limits<int64_t>::min());
  if (!first) return first.take_error();
  std::optional<int64_t> low = *first;
  while (low) {
    if (limits.budget.count() > 0 && Clock::now() - started >= limits.budget) {
      out.finished = false;
      break;
    }
    auto tx = sql::Transaction::begin(db);  // waits (busy_timeout) for the writer's commit
    if (!tx) return tx.take_error();
    auto held_from = Clock::now();
    remove->bind(1, *low).bind(2, *low + rows).bind(3, rule.older_than_ns);
    while (true) {
      auto deleted = remove->step();
      if (!deleted) return deleted.take_error();
      if (!*deleted) break;
      ++out.rows;
      out.bytes += remove->column_int(0);
    }
    remove->reset();
    if (auto st = tx->commit(); !st) return st.take_error();
    double held_ms = std::chrono::duration<double, std::milli>(Clock::now() - held_from).count();
    // Copy the log back without the write lock (a PASSIVE checkpoint never
    // blocks writers), so no commit of ours does it while holding the lock.
    if (limits.checkpoint_between_batches) (void)db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    if (limits.yield_between_batches) {
      std::this_thread::sleep_for(std::max(std::chrono::duration<double, std::milli>(10),
                                           std::chrono::duration<double, std::milli>(2 * held_ms)));
    }
    out.longest_batch_ms = std::max(out.longest_batch_ms, held_ms);
    ++out.batches;
    auto next = next_old(*low + rows);
    if (!next) return next.take_error();
    low = *next;
    // Aim well under the limit: a batch on a busy machine can be descheduled
    // while it holds the lock, and the writer's wait is that plus its own commit.
    if (held_ms > max_ms / 4) rows = std::max(kMinBatchRows, rows / 2);
    else if (held_ms < max_ms / 8) rows = std::min(kMaxBatchRows, rows * 2);
  }
  return out;
}

}  // namespace nightshift
