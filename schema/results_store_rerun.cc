// ResultsStore: what `nightshift rerun` needs — a run's provenance (written
// by the persister) and its results in comparable form.
#include "schema/results_store.h"

namespace nightshift {
namespace {

bool has_table(sql::Database& db, const char* name) {
  auto stmt = db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1");
  if (!stmt) return false;
  stmt->bind(1, name);
  auto has = stmt->step();
  return has && *has && stmt->column_int(0) == 1;
}

std::optional<int64_t> optional_int(const sql::Statement& s, int column) {
  if (s.column_is_null(column)) return std::nullopt;
  return s.column_int(column);
}

std::optional<double> optional_double(const sql::Statement& s, int column) {
  if (s.column_is_null(column)) return std::nullopt;
  return s.column_double(column);
}

}  // namespace

Status ResultsStore::put_provenance(const RunProvenance& p) {
  auto stmt = db_.prepare(
      "INSERT INTO run_provenance (run, config_yaml, code_commit, code_dirty, build_id, compiler, "
      "kernel_isa, rerun_of, recorded_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
      "ON CONFLICT DO NOTHING");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, p.run).bind(2, p.config_yaml).bind(3, p.code_commit).bind(4, p.code_dirty ? 1 : 0);
  stmt->bind(5, p.build_id).bind(6, p.compiler).bind(7, p.kernel_isa).bind(8, p.rerun_of);
  stmt->bind(9, p.recorded_ns);
  return stmt->run();
}

Result<std::optional<RunProvenance>> ResultsStore::provenance(const std::string& run) {
  if (!has_table(db_, "run_provenance")) return std::optional<RunProvenance>();
  auto stmt = db_.prepare(
      "SELECT run, config_yaml, code_commit, code_dirty, build_id, compiler, kernel_isa, rerun_of, "
      "recorded_ns FROM run_provenance WHERE run = ?1");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run);
  auto has = stmt->step();
  if (!has) return has.take_error();
  if (!*has) return std::optional<RunProvenance>();
  RunProvenance p;
  p.run = stmt->column_text(0);
  p.config_yaml = stmt->column_text(1);
  p.code_commit = stmt->column_text(2);
  p.code_dirty = stmt->column_int(3) != 0;
  p.build_id = stmt->column_text(4);
  p.compiler = stmt->column_text(5);
  p.kernel_isa = stmt->column_text(6);
  if (!stmt->column_is_null(7)) p.rerun_of = stmt->column_text(7);
  p.recorded_ns = stmt->column_int(8);
  return std::optional<RunProvenance>(std::move(p));
}

Result<std::vector<TrialOutcome>> ResultsStore::trial_outcomes(const std::string& run) {
  auto stmt = db_.prepare(
      "SELECT t.study, t.trial, s.symbol, s.timeframe, t.params, t.metrics, t.folds, "
      "t.data_fingerprint, t.data_first_ts, t.data_last_ts FROM trials t JOIN studies s "
      "ON s.run = t.run AND s.study = t.study WHERE t.run = ?1 ORDER BY t.study, t.trial");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run);
  std::vector<TrialOutcome> out;
  while (true) {
    auto has = stmt->step();
    if (!has) return has.take_error();
    if (!*has) break;
    TrialOutcome t;
    t.study = stmt->column_text(0);
    t.trial = stmt->column_int(1);
    t.symbol = stmt->column_text(2);
    t.timeframe = stmt->column_text(3);
    t.params = stmt->column_text(4);
    t.metrics = stmt->column_text(5);
    t.folds = stmt->column_text(6);
    t.data_fingerprint = stmt->column_text(7);
    t.data_first_ts = optional_int(*stmt, 8);
    t.data_last_ts = optional_int(*stmt, 9);
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::vector<ModelOutcome>> ResultsStore::model_outcomes(const std::string& run) {
  auto stmt = db_.prepare(
      "SELECT study, metrics, gates, promoted, gates_passed, p_value, q_value, decision "
      "FROM models WHERE run = ?1 ORDER BY study");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run);
  std::vector<ModelOutcome> out;
  while (true) {
    auto has = stmt->step();
    if (!has) return has.take_error();
    if (!*has) break;
    ModelOutcome m;
    m.study = stmt->column_text(0);
    m.metrics = stmt->column_text(1);
    m.gates = stmt->column_text(2);
    m.promoted = stmt->column_int(3) != 0;
    if (auto passed = optional_int(*stmt, 4)) m.gates_passed = *passed != 0;
    m.p_value = optional_double(*stmt, 5);
    m.q_value = optional_double(*stmt, 6);
    m.decision = stmt->column_text(7);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace nightshift
