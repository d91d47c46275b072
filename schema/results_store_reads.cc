// ResultsStore reads: run history, persisted jobs, study summaries, timings.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "schema/results_store.h"

namespace nightshift {
namespace {

Result<RunRow> read_run(const sql::Statement& s) {
  RunRow r;
  r.run = s.column_text(0);
  auto status = parse_wire<RunStatus>(s.column_text(1));
  if (!status) {
    return make_error(ErrorKind::corrupt,
                      "run " + r.run + ": unknown status '" + s.column_text(1) + "'");
  }
  r.status = *status;
  r.config_path = s.column_text(2);
  r.started_ns = s.column_int(3);
  r.updated_ns = s.column_int(4);
  if (!s.column_is_null(5)) r.finished_ns = s.column_int(5);
  r.total_jobs = s.column_int(6);
  r.done_jobs = s.column_int(7);
  r.skipped_jobs = s.column_int(8);
  if (!s.column_is_null(9)) r.fdr_q = s.column_double(9);
  if (!s.column_is_null(10)) r.studies_tested = s.column_int(10);
  return r;
}

constexpr const char* kRunColumns =
    "SELECT run, status, config_path, started_ns, updated_ns, finished_ns, total_jobs, "
    "done_jobs, skipped_jobs, fdr_q, studies_tested FROM runs ";

std::optional<double> json_number(const std::string& text, const char* key) {
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains(key)) return std::nullopt;
  if (!parsed[key].is_number()) return std::nullopt;
  return parsed[key].get<double>();
}

std::string failed_gates(const std::string& gates_json) {
  auto gates = nlohmann::json::parse(gates_json, nullptr, false);
  if (gates.is_discarded() || !gates.is_object()) return "rejected";
  std::string out;
  for (const auto& [gate, verdict] : gates.items()) {
    if (verdict.is_string() && verdict.get<std::string>() != "pass" &&
        verdict.get<std::string>().rfind("pass:", 0) != 0) {
      out += (out.empty() ? "" : "; ") + gate + " " + verdict.get<std::string>();
    }
  }
  return out.empty() ? std::string("rejected") : out;
}

}  // namespace

bool ResultsStore::has_schema() {
  auto n = db_.query_int("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'runs'");
  return n && *n == 1;
}

Result<std::vector<RunRow>> ResultsStore::runs() {
  if (!has_schema()) return std::vector<RunRow>{};  // created, not yet migrated
  auto stmt = db_.prepare(std::string(kRunColumns) + "ORDER BY started_ns DESC");
  if (!stmt) return stmt.take_error();
  std::vector<RunRow> out;
  while (true) {
    auto has = stmt->step();
    if (!has) return has.take_error();
    if (!*has) break;
    auto row = read_run(*stmt);
    if (!row) return row.take_error();
    out.push_back(std::move(*row));
  }
  return out;
}

Result<std::optional<RunRow>> ResultsStore::run(const std::string& run_id) {
  auto stmt = db_.prepare(std::string(kRunColumns) + "WHERE run = ?1");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run_id);
  auto has = stmt->step();
  if (!has) return has.take_error();
  if (!*has) return std::optional<RunRow>();
  auto row = read_run(*stmt);
  if (!row) return row.take_error();
  return std::optional<RunRow>(std::move(*row));
}

Result<std::map<std::string, uint32_t>> ResultsStore::persisted_jobs(const std::string& run_id) {
  auto stmt = db_.prepare("SELECT study, trial, attempt FROM trials WHERE run = ?1");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run_id);
  std::map<std::string, uint32_t> out;
  while (true) {
    auto has = stmt->step();
    if (!has) return has.take_error();
    if (!*has) break;
    out[job_key_text(JobKey{run_id, stmt->column_text(0), stmt->column_int(1)})] =
        static_cast<uint32_t>(stmt->column_int(2));
  }
  return out;
}

Result<std::optional<std::string>> ResultsStore::dispatch_key(const std::string& run_id) {
  auto stmt = db_.prepare("SELECT dispatch_key FROM runs WHERE run = ?1");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run_id);
  auto has = stmt->step();
  if (!has) return has.take_error();
  if (!*has || stmt->column_is_null(0)) return std::optional<std::string>();
  return std::optional<std::string>(stmt->column_text(0));
}

Result<std::set<std::string>> ResultsStore::planned_jobs(const std::string& run_id) {
  auto stmt = db_.prepare("SELECT study, trial FROM jobs WHERE run = ?1");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run_id);
  std::set<std::string> out;
  while (true) {
    auto has = stmt->step();
    if (!has) return has.take_error();
    if (!*has) break;
    out.insert(stmt->column_text(0) + "/" + std::to_string(stmt->column_int(1)));
  }
  return out;
}

Result<std::optional<uint32_t>> ResultsStore::stored_attempt(const PersistedResult& r) {
  const bool ok = r.status != ResultStatus::failed;  // ok and pruned rows are trials rows
  auto& stmt = ok ? select_trial_ : select_failure_;
  if (!stmt.valid()) {
    auto prepared = db_.prepare(
        ok ? "SELECT attempt FROM trials WHERE run = ?1 AND study = ?2 AND trial = ?3"
           : "SELECT attempt FROM failures WHERE run = ?1 AND study = ?2 AND trial = ?3 "
             "AND attempt = ?4");
    if (!prepared) return prepared.take_error();
    stmt = std::move(*prepared);
  }
  stmt.bind(1, r.key.run).bind(2, r.key.study).bind(3, r.key.trial);
  if (!ok) stmt.bind(4, static_cast<int64_t>(r.attempt));
  auto has = stmt.step();
  std::optional<uint32_t> attempt;
  if (has && *has) attempt = static_cast<uint32_t>(stmt.column_int(0));
  stmt.reset();  // a statement left stepping would pin this reader's snapshot
  if (!has) return has.take_error();
  return attempt;
}

Result<RunCounts> ResultsStore::run_counts(const std::string& run_id) {
  auto stmt = db_.prepare(
      "SELECT (SELECT COUNT(*) FROM trials WHERE run = ?1), "
      "(SELECT COUNT(*) FROM trials WHERE run = ?1 AND attempt > 1), "
      "(SELECT COUNT(*) FROM failures WHERE run = ?1), "
      "(SELECT COUNT(*) FROM models WHERE run = ?1), "
      "(SELECT COUNT(*) FROM models WHERE run = ?1 AND promoted = 1), "
      "(SELECT COUNT(*) FROM models WHERE run = ?1 AND COALESCE(gates_passed, promoted) = 1), "
      "(SELECT COUNT(*) FROM trials WHERE run = ?1 AND status = 'pruned')");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run_id);
  auto has = stmt->step();
  if (!has) return has.take_error();
  RunCounts c;
  if (!*has) return c;
  c.result_rows = stmt->column_int(0);
  c.retried_results = stmt->column_int(1);
  c.failed_attempts = stmt->column_int(2);
  c.models = stmt->column_int(3);
  c.promoted = stmt->column_int(4);
  c.gates_passed = stmt->column_int(5);
  c.pruned_trials = stmt->column_int(6);
  auto hosts = db_.prepare(
      "SELECT CASE WHEN instr(worker, '/') > 0 THEN substr(worker, 1, instr(worker, '/') - 1) "
      "ELSE worker END AS host, COUNT(*), COUNT(DISTINCT worker) FROM trials WHERE run = ?1 "
      "GROUP BY host ORDER BY host");
  if (!hosts) return hosts.take_error();
  hosts->bind(1, run_id);
  for (;;) {
    auto row = hosts->step();
    if (!row) return row.take_error();
    if (!*row) break;
    c.results_by_host[hosts->column_text(0)] = hosts->column_int(1);
    c.workers_by_host[hosts->column_text(0)] = hosts->column_int(2);
  }
  // telemetry_host has no run column: the run's time window picks its rows
  // (an index range on ts_ns).
  auto telemetry = db_.prepare(
      "SELECT t.host, COUNT(*) FROM runs r JOIN telemetry_host t "
      "ON t.ts_ns >= r.started_ns AND t.ts_ns <= COALESCE(r.finished_ns, r.updated_ns) "
      "WHERE r.run = ?1 GROUP BY t.host ORDER BY t.host");
  if (!telemetry) return telemetry.take_error();
  telemetry->bind(1, run_id);
  for (;;) {
    auto row = telemetry->step();
    if (!row) return row.take_error();
    if (!*row) break;
    c.telemetry_by_host[telemetry->column_text(0)] = telemetry->column_int(1);
  }
  return c;
}

Result<std::optional<std::map<std::string, double>>> ResultsStore::best_trial_params(
    const std::string& run_id, const std::string& study) {
  auto stmt = db_.prepare(
      "SELECT params FROM trials WHERE run = ?1 AND study = ?2 AND kind = 'trial' AND status = 'ok' "
      "ORDER BY COALESCE(json_extract(metrics, '$.auc'), 0) DESC, trial LIMIT 1");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run_id).bind(2, study);
  auto has = stmt->step();
  if (!has) return has.take_error();
  if (!*has) return std::optional<std::map<std::string, double>>();
  auto parsed = nlohmann::json::parse(stmt->column_text(0), nullptr, false);
  std::map<std::string, double> params;
  if (parsed.is_object()) {
    for (const auto& [key, value] : parsed.items()) {
      if (value.is_number()) params[key] = value.get<double>();
    }
  }
  return std::optional<std::map<std::string, double>>(std::move(params));
}

Result<std::vector<std::pair<std::map<std::string, double>, double>>>
ResultsStore::finished_trials(const std::string& run_id, const std::string& study) {
  auto stmt = db_.prepare(
      "SELECT params, json_extract(metrics, '$.auc') FROM trials WHERE run = ?1 AND study = ?2 "
      "AND kind = 'trial' AND json_extract(metrics, '$.auc') IS NOT NULL ORDER BY trial");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run_id).bind(2, study);
  std::vector<std::pair<std::map<std::string, double>, double>> out;
  while (true) {
    auto has = stmt->step();
    if (!has) return has.take_error();
    if (!*has) break;
    auto parsed = nlohmann::json::parse(stmt->column_text(0), nullptr, false);
    std::map<std::string, double> params;
    if (parsed.is_object()) {
      for (const auto& [key, value] : parsed.items()) {
        if (value.is_number()) params[key] = value.get<double>();
      }
    }
    out.emplace_back(std::move(params), stmt->column_double(1));
  }
  return out;
}

Result<std::vector<std::vector<double>>> ResultsStore::completed_fold_aucs(const std::string& run_id,
                                                                          const std::string& study) {
  auto stmt = db_.prepare(
      "SELECT folds FROM trials WHERE run = ?1 AND study = ?2 AND kind = 'trial' AND status = 'ok' "
      "ORDER BY trial");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run_id).bind(2, study);
  std::vector<std::vector<double>> out;
  while (true) {
    auto has = stmt->step();
    if (!has) return has.take_error();
    if (!*has) break;
    auto folds = nlohmann::json::parse(stmt->column_text(0), nullptr, false);
    std::vector<double> aucs;
    if (folds.is_array()) {
      for (const auto& fold : folds) {
        const auto* auc = fold.is_object() && fold.contains("metrics") && fold["metrics"].is_object() &&
                                  fold["metrics"].contains("auc") && fold["metrics"]["auc"].is_number()
                              ? &fold["metrics"]["auc"]
                              : nullptr;
        aucs.push_back(auc != nullptr ? auc->get<double>() : NAN);
      }
    }
    out.push_back(std::move(aucs));
  }
  return out;
}

Result<std::vector<StudyRow>> ResultsStore::studies(const std::string& run_id) {
  auto stmt = db_.prepare(
      "SELECT s.study, "
      " (SELECT params FROM trials t WHERE t.run = s.run AND t.study = s.study AND "
      "  t.kind = 'trial' ORDER BY COALESCE(json_extract(t.metrics, '$.auc'), 0) DESC LIMIT 1),"
      " (SELECT metrics FROM trials t WHERE t.run = s.run AND t.study = s.study AND "
      "  t.kind = 'trial' ORDER BY COALESCE(json_extract(t.metrics, '$.auc'), 0) DESC LIMIT 1),"
      " m.metrics, m.promoted, m.gates, "
      " (SELECT group_concat(DISTINCT reason) FROM jobs j WHERE j.run = s.run AND "
      "  j.study = s.study AND j.state = 'skipped'), "
      " m.p_value, m.q_value, m.decision "
      "FROM studies s LEFT JOIN models m ON m.run = s.run AND m.study = s.study "
      "WHERE s.run = ?1 ORDER BY s.study");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run_id);
  std::vector<StudyRow> out;
  while (true) {
    auto has = stmt->step();
    if (!has) return has.take_error();
    if (!*has) break;
    StudyRow row;
    row.study = stmt->column_text(0);
    row.best_params = stmt->column_is_null(1) ? "" : stmt->column_text(1);
    if (!stmt->column_is_null(2)) row.cv_auc = json_number(stmt->column_text(2), "auc");
    if (!stmt->column_is_null(3)) {
      row.holdout_auc = json_number(stmt->column_text(3), "auc");
      row.promoted = stmt->column_int(4) != 0;
      if (!stmt->column_is_null(7)) row.p_value = stmt->column_double(7);
      if (!stmt->column_is_null(8)) row.q_value = stmt->column_double(8);
      const std::string decision = stmt->column_is_null(9) ? "" : stmt->column_text(9);
      if (*row.promoted) {
        row.verdict = "promoted";
      } else if (decision.rfind("pending", 0) == 0) {
        row.verdict = "pending (decided when the run completes)";
      } else {
        row.verdict = failed_gates(stmt->column_text(5));
      }
    } else if (!stmt->column_is_null(6)) {
      row.verdict = "skipped: " + stmt->column_text(6);
    } else {
      row.verdict = "no final model yet";
    }
    out.push_back(std::move(row));
  }
  return out;
}

Result<std::vector<TimeframeTiming>> ResultsStore::timeframe_timings() {
  auto stmt = db_.prepare(
      "SELECT s.timeframe, COUNT(*), AVG(t.wall_s) FROM trials t JOIN studies s ON "
      "s.run = t.run AND s.study = t.study WHERE t.cache_hit = 0 GROUP BY s.timeframe");
  if (!stmt) return stmt.take_error();
  std::vector<TimeframeTiming> out;
  while (true) {
    auto has = stmt->step();
    if (!has) return has.take_error();
    if (!*has) break;
    out.push_back({stmt->column_text(0), stmt->column_int(1), stmt->column_double(2)});
  }
  return out;
}

}  // namespace nightshift

namespace nightshift {

Result<std::vector<ActiveAlert>> ResultsStore::active_alerts() {
  if (!has_schema()) return std::vector<ActiveAlert>{};
  // SQLite fills the bare columns from the row holding MAX(id): each topic's latest.
  auto stmt = db_.prepare("SELECT topic, MAX(id), ts_ns, body FROM alerts GROUP BY topic "
                          "ORDER BY ts_ns");
  if (!stmt) return stmt.take_error();
  std::vector<ActiveAlert> out;
  while (true) {
    auto has = stmt->step();
    if (!has) return has.take_error();
    if (!*has) break;
    auto body = nlohmann::json::parse(stmt->column_text(3), nullptr, false);
    if (body.is_discarded() || !body.is_object()) continue;
    const auto data = body.value("data", nlohmann::json::object());
    if (!data.is_object()) continue;
    auto text = [&data](const char* key) {  // what a stage sent: never throw on a wrong type
      auto it = data.find(key);
      return it != data.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (text("state") != "firing") continue;
    ActiveAlert alert;
    alert.topic = stmt->column_text(0);
    alert.since_ns = stmt->column_int(2);
    alert.level = text("level");
    alert.message = text("message");
    out.push_back(std::move(alert));
  }
  return out;
}

}  // namespace nightshift
