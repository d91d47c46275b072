// ResultsStore: the result cache's table (005_result_cache.sql, docs/cache.md).
#include <algorithm>

#include "schema/codec.h"
#include "schema/results_store.h"

namespace nightshift {
namespace {

Status in_context(Status status, const std::string& what) {
  if (status) return status;
  return make_error(status.error_kind(), what + ": " + status.error());
}

constexpr const char* kEntryColumns =
    "key, kind, symbol, timeframe, model, data_fingerprint, source_run, source_study, "
    "source_trial, artifact_path, created_ns, expires_ns, last_used_ns, hits";

CacheEntry entry_of(const sql::Statement& s) {
  CacheEntry e;
  e.key = s.column_text(0);
  e.kind = parse_wire<JobKind>(s.column_text(1)).value_or(JobKind::trial);
  e.symbol = s.column_text(2);
  e.timeframe = s.column_text(3);
  e.model = s.column_text(4);
  e.data_fingerprint = s.column_text(5);
  e.source_run = s.column_text(6);
  e.source_study = s.column_text(7);
  e.source_trial = s.column_int(8);
  if (!s.column_is_null(9)) e.artifact_path = s.column_text(9);
  e.created_ns = s.column_int(10);
  e.expires_ns = s.column_int(11);
  e.last_used_ns = s.column_int(12);
  e.hits = s.column_int(13);
  return e;
}

}  // namespace

Result<std::optional<CacheEntry>> ResultsStore::cache_entry(const std::string& key) {
  auto s = db_.prepare(std::string("SELECT ") + kEntryColumns + " FROM result_cache WHERE key = ?1");
  if (!s) return s.take_error();
  s->bind(1, key);
  auto has = s->step();
  if (!has) return has.take_error();
  if (!*has) return std::optional<CacheEntry>();
  return std::optional<CacheEntry>(entry_of(*s));
}

Result<std::map<std::string, Job>> ResultsStore::planned_study_specs(const std::string& run) {
  auto s = db_.prepare("SELECT study, spec FROM jobs WHERE run = ?1 AND trial = -1");
  if (!s) return s.take_error();
  s->bind(1, run);
  std::map<std::string, Job> out;
  while (true) {
    auto has = s->step();
    if (!has) return has.take_error();
    if (!*has) break;
    auto blob = s->column_view(1);
    auto job = decode_value<Job>(blob, "spec");
    if (!job) return make_error(ErrorKind::corrupt, "run " + run + ": job spec: " + job.error());
    out[s->column_text(0)] = std::move(*job);
  }
  return out;
}

Status ResultsStore::put_cache_entry(const CacheEntry& e) {
  auto s = db_.prepare(
      std::string("INSERT INTO result_cache (") + kEntryColumns +
      ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
      "ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, symbol = excluded.symbol, "
      "timeframe = excluded.timeframe, model = excluded.model, "
      "data_fingerprint = excluded.data_fingerprint, source_run = excluded.source_run, "
      "source_study = excluded.source_study, source_trial = excluded.source_trial, "
      "artifact_path = excluded.artifact_path, created_ns = excluded.created_ns, "
      "expires_ns = excluded.expires_ns, last_used_ns = excluded.last_used_ns, hits = 0");
  if (!s) return s.take_error();
  s->bind(1, e.key).bind(2, wire_text(e.kind)).bind(3, e.symbol).bind(4, e.timeframe);
  s->bind(5, e.model).bind(6, e.data_fingerprint).bind(7, e.source_run).bind(8, e.source_study);
  s->bind(9, e.source_trial).bind(10, e.artifact_path).bind(11, e.created_ns);
  s->bind(12, e.expires_ns).bind(13, e.last_used_ns).bind(14, e.hits);
  return in_context(s->run(), "storing result cache entry " + e.key);
}

Result<bool> ResultsStore::copy_cached_result(const JobResult& hit, const CacheEntry& e,
                                              int64_t now_ns, bool& inserted) {
  inserted = false;
  if (hit.key.trial < 0) {
    auto source = db_.prepare("SELECT 1 FROM models WHERE run = ?1 AND study = ?2");
    if (!source) return source.take_error();
    source->bind(1, e.source_run).bind(2, e.source_study);
    auto has = source->step();
    if (!has) return has.take_error();
    if (!*has) return false;  // the model the entry stands for is gone
  }
  auto trial = db_.prepare(
      "INSERT INTO trials (run, study, trial, kind, attempt, worker, params, metrics, folds, "
      "wall_s, cpu_s, peak_rss_bytes, cache_hit, data_fingerprint, persisted_ns) "
      "SELECT ?1, ?2, ?3, kind, ?4, ?5, params, metrics, folds, 0, 0, 0, 1, data_fingerprint, ?6 "
      "FROM trials WHERE run = ?7 AND study = ?8 AND trial = ?9 ON CONFLICT DO NOTHING");
  if (!trial) return trial.take_error();
  trial->bind(1, hit.key.run).bind(2, hit.key.study).bind(3, hit.key.trial);
  trial->bind(4, static_cast<int64_t>(hit.attempt)).bind(5, hit.worker).bind(6, now_ns);
  trial->bind(7, e.source_run).bind(8, e.source_study).bind(9, e.source_trial);
  if (auto st = trial->run(); !st) return in_context(st, "copying cached result " + e.key).take_error();
  if (db_.changes() == 0) {
    // Either this job has its row already (a redelivery) or the row the
    // entry stands for is gone.
    auto mine = db_.prepare("SELECT 1 FROM trials WHERE run = ?1 AND study = ?2 AND trial = ?3");
    if (!mine) return mine.take_error();
    mine->bind(1, hit.key.run).bind(2, hit.key.study).bind(3, hit.key.trial);
    auto has = mine->step();
    if (!has) return has.take_error();
    return *has;
  }
  inserted = true;
  if (hit.key.trial < 0) {
    // The fdr_q verdict was the source run's; this run decides its own.
    auto model = db_.prepare(
        "INSERT INTO models (run, study, artifact_path, promoted, gates, metrics, params, "
        "persisted_ns, gates_passed, p_value, decision) SELECT ?1, ?2, artifact_path, 0, "
        "json_remove(gates, '$.fdr_q'), metrics, params, ?3, COALESCE(gates_passed, promoted), "
        "p_value, 'pending: promotion is decided over the whole run when it completes' "
        "FROM models WHERE run = ?4 AND study = ?5 ON CONFLICT DO NOTHING");
    if (!model) return model.take_error();
    model->bind(1, hit.key.run).bind(2, hit.key.study).bind(3, now_ns);
    model->bind(4, e.source_run).bind(5, e.source_study);
    if (auto st = model->run(); !st) return in_context(st, "copying cached model " + e.key).take_error();
  }
  auto used = db_.prepare(
      "UPDATE result_cache SET hits = hits + 1, last_used_ns = ?2 WHERE key = ?1");
  if (!used) return used.take_error();
  used->bind(1, e.key).bind(2, now_ns);
  if (auto st = used->run(); !st) return st.take_error();
  return true;
}

Result<CacheCleanup> ResultsStore::clean_cache(int64_t now_ns, int64_t max_entries,
                                               const std::string& run, int max_rows) {
  CacheCleanup done;
  auto expired = db_.prepare(
      "DELETE FROM result_cache WHERE key IN "
      "(SELECT key FROM result_cache WHERE expires_ns <= ?1 LIMIT ?2)");
  if (!expired) return expired.take_error();
  expired->bind(1, now_ns).bind(2, static_cast<int64_t>(max_rows));
  if (auto st = expired->run(); !st) return st.take_error();
  done.expired = db_.changes();
  auto count = db_.query_int("SELECT COUNT(*) FROM result_cache");
  if (!count) return count.take_error();
  const int64_t excess = std::min<int64_t>(*count - max_entries, max_rows - done.expired);
  if (excess > 0) {
    auto evict = db_.prepare(
        "DELETE FROM result_cache WHERE key IN "
        "(SELECT key FROM result_cache ORDER BY last_used_ns, key LIMIT ?1)");
    if (!evict) return evict.take_error();
    evict->bind(1, excess);
    if (auto st = evict->run(); !st) return st.take_error();
    done.evicted = db_.changes();
  }
  if (done.expired == 0 && done.evicted == 0) return done;
  auto counted = db_.prepare(
      "INSERT INTO cache_cleanups (run, expired, evicted) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (run) DO UPDATE SET expired = expired + excluded.expired, "
      "evicted = evicted + excluded.evicted");
  if (!counted) return counted.take_error();
  counted->bind(1, run).bind(2, done.expired).bind(3, done.evicted);
  if (auto st = counted->run(); !st) return st.take_error();
  return done;
}

Result<int64_t> ResultsStore::clear_cache() {
  if (auto st = db_.exec("DELETE FROM result_cache"); !st) return st.take_error();
  return static_cast<int64_t>(db_.changes());
}

Result<CacheSummary> ResultsStore::cache_summary(int64_t now_ns) {
  CacheSummary out;
  auto s = db_.prepare(
      "SELECT COUNT(*), COALESCE(SUM(expires_ns <= ?1), 0), COALESCE(SUM(kind = 'trial'), 0), "
      "COALESCE(SUM(kind = 'final'), 0), MIN(created_ns), MAX(created_ns), "
      "COALESCE(SUM(hits), 0) FROM result_cache");
  if (!s) return s.take_error();
  s->bind(1, now_ns);
  auto has = s->step();
  if (!has) return has.take_error();
  out.entries = s->column_int(0);
  out.expired_waiting = s->column_int(1);
  out.trial_entries = s->column_int(2);
  out.final_entries = s->column_int(3);
  if (!s->column_is_null(4)) out.oldest_created_ns = s->column_int(4);
  if (!s->column_is_null(5)) out.newest_created_ns = s->column_int(5);
  out.entry_hits = s->column_int(6);
  auto rows = db_.prepare(
      "SELECT COALESCE(SUM(cache_hit = 1), 0), COALESCE(SUM(cache_hit = 0), 0) FROM trials");
  if (!rows) return rows.take_error();
  if (auto r = rows->step(); !r) return r.take_error();
  out.hits = rows->column_int(0);
  out.misses = rows->column_int(1);
  auto cleaned = db_.prepare(
      "SELECT COALESCE(SUM(expired), 0), COALESCE(SUM(evicted), 0) FROM cache_cleanups");
  if (!cleaned) return cleaned.take_error();
  if (auto r = cleaned->step(); !r) return r.take_error();
  out.expired = cleaned->column_int(0);
  out.evicted = cleaned->column_int(1);
  return out;
}

Result<RunCacheStats> ResultsStore::run_cache_stats(const std::string& run) {
  RunCacheStats out;
  auto rows = db_.prepare(
      "SELECT COALESCE(SUM(cache_hit = 1), 0), COALESCE(SUM(cache_hit = 0), 0) FROM trials "
      "WHERE run = ?1");
  if (!rows) return rows.take_error();
  rows->bind(1, run);
  if (auto r = rows->step(); !r) return r.take_error();
  out.hits = rows->column_int(0);
  out.misses = rows->column_int(1);
  auto cleaned = db_.prepare("SELECT expired, evicted FROM cache_cleanups WHERE run = ?1");
  if (!cleaned) return cleaned.take_error();
  cleaned->bind(1, run);
  auto has = cleaned->step();
  if (!has) return has.take_error();
  if (*has) {
    out.expired = cleaned->column_int(0);
    out.evicted = cleaned->column_int(1);
  }
  return out;
}

}  // namespace nightshift
