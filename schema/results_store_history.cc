// ResultsStore reads for the gateway's history endpoints: trials, failures,
// job states and stored GPU samples. Every query is bounded or per run.
#include "schema/results_store.h"

namespace nightshift {
namespace {

// Steps `stmt` to the end, handing each row to `take`.
template <typename Take>
Status each_row(sql::Statement& stmt, Take take) {
  while (true) {
    auto has = stmt.step();
    if (!has) return has.take_error();
    if (!*has) return Status::success();
    take(stmt);
  }
}

}  // namespace

Result<std::vector<TrialRow>> ResultsStore::trials(const std::string& run_id,
                                                   const std::string& study) {
  std::vector<TrialRow> out;
  if (!has_schema()) return out;
  auto stmt = db_.prepare(
      "SELECT study, trial, kind, attempt, worker, params, metrics, wall_s, cpu_s, "
      "peak_rss_bytes, cache_hit, persisted_ns FROM trials WHERE run = ?1 AND study = ?2 "
      "ORDER BY trial");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run_id).bind(2, study);
  auto st = each_row(*stmt, [&](const sql::Statement& s) {
    out.push_back(TrialRow{s.column_text(0), s.column_int(1), s.column_text(2), s.column_int(3),
                           s.column_text(4), s.column_text(5), s.column_text(6),
                           s.column_double(7), s.column_double(8), s.column_int(9),
                           s.column_int(10) != 0, s.column_int(11)});
  });
  if (!st) return st.take_error();
  return out;
}

Result<std::vector<FailureRow>> ResultsStore::failures(const std::string& run_id, int limit) {
  std::vector<FailureRow> out;
  if (!has_schema()) return out;
  auto stmt = db_.prepare(
      "SELECT study, trial, attempt, reason, worker, persisted_ns FROM failures WHERE run = ?1 "
      "ORDER BY persisted_ns DESC LIMIT ?2");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run_id).bind(2, limit);
  auto st = each_row(*stmt, [&](const sql::Statement& s) {
    out.push_back(FailureRow{s.column_text(0), s.column_int(1), s.column_int(2),
                             s.column_text(3), s.column_text(4), s.column_int(5)});
  });
  if (!st) return st.take_error();
  return out;
}

Result<std::map<std::string, int64_t>> ResultsStore::job_states(const std::string& run_id) {
  std::map<std::string, int64_t> out;
  if (!has_schema()) return out;
  auto stmt = db_.prepare("SELECT state, COUNT(*) FROM jobs WHERE run = ?1 GROUP BY state");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run_id);
  auto st = each_row(*stmt, [&](const sql::Statement& s) {
    out[s.column_text(0)] = s.column_int(1);
  });
  if (!st) return st.take_error();
  return out;
}

Result<std::vector<TelemetryRow>> ResultsStore::gpu_history(int64_t since_ns, int limit) {
  std::vector<TelemetryRow> out;
  if (!has_schema()) return out;
  auto stmt = db_.prepare(
      "SELECT ts_ns, topic, body FROM telemetry_gpu WHERE ts_ns >= ?1 ORDER BY ts_ns LIMIT ?2");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, since_ns).bind(2, limit);
  auto st = each_row(*stmt, [&](const sql::Statement& s) {
    out.push_back(TelemetryRow{s.column_int(0), s.column_text(1), s.column_text(2)});
  });
  if (!st) return st.take_error();
  return out;
}

}  // namespace nightshift
