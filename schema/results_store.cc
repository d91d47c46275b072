#include "schema/results_store.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/fdr.h"

#include "schema/codec.h"
#include "schema/json_columns.h"
#include "schema/migrations.h"

namespace nightshift {
namespace {

Status with_context(const Status& status, const std::string& what) {
  if (status) return status;
  return make_error(status.error_kind(), what + ": " + status.error());
}

}  // namespace

std::string job_key_text(const JobKey& key) {
  return key.run + "/" + key.study + "/" + std::to_string(key.trial);
}

Result<ResultsStore> ResultsStore::open_for_writing(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return make_error("results database " + path + ": cannot create folder " +
                            parent.string() + ": " + ec.message());
  auto db = sql::Database::open(path);
  // Both errors name the file.
  if (!db) return make_error(db.error_kind(), "results database: " + db.error());
  if (auto st = sql::migrate(*db, sql::results_migrations()); !st) {
    return make_error(st.error_kind(), "results database: " + st.error());
  }
  ResultsStore store(std::move(*db));
  if (auto st = store.prepare_writes(); !st) return st.take_error();
  return store;
}

Result<ResultsStore> ResultsStore::open_read_only(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    return make_error(ErrorKind::not_found,
                      "results database " + path + " does not exist (no run has been stored)");
  }
  sql::OpenOptions options;
  options.read_only = true;
  options.create = false;
  options.wal = false;  // the writer set WAL; a reader must not change modes
  auto db = sql::Database::open(path, options);
  if (!db) return make_error(db.error_kind(), "results database: " + db.error());
  auto version = sql::readable_version(*db, sql::results_migrations());
  if (!version) return make_error(version.error_kind(), "results database: " + version.error());
  ResultsStore store(std::move(*db));
  if (*version == 0 && !store.has_schema()) {
    // Empty: the persister has created it and not yet migrated. Tables of
    // someone else's: a wrong path, and every read would fail obscurely.
    auto tables = store.db().query_int("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'");
    if (!tables) return make_error(tables.error_kind(), "results database: " + tables.error());
    if (*tables > 0) {
      return make_error(ErrorKind::invalid_input,
                        "results database " + path +
                            " is a SQLite database but not nightshift's (no runs table)");
    }
  }
  return store;
}

Status ResultsStore::prepare_writes() {
  struct Item {
    sql::Statement* target;
    const char* sql;
  };
  for (auto [target, text] : {
           Item{&insert_trial_,
                "INSERT INTO trials (run, study, trial, kind, attempt, worker, params, metrics, "
                "folds, wall_s, cpu_s, peak_rss_bytes, cache_hit, data_fingerprint, "
                "persisted_ns, data_first_ts, data_last_ts, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) ON CONFLICT DO NOTHING"},
           Item{&insert_failure_,
                "INSERT INTO failures (run, study, trial, attempt, reason, worker, persisted_ns) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING"},
           Item{&insert_model_,
                "INSERT INTO models (run, study, artifact_path, promoted, gates, metrics, params, "
                "persisted_ns, gates_passed, p_value, decision) VALUES (?1, ?2, ?3, 0, ?5, ?6, "
                "?7, ?8, ?4, json_extract(?6, '$.auc_p_value'), 'pending: promotion is decided over the whole run when it "
                "completes') ON CONFLICT DO NOTHING"},
           Item{&insert_event_,
                "INSERT INTO events (ts_ns, topic, type, body) VALUES (?1, ?2, ?3, ?4)"},
       }) {
    auto stmt = db_.prepare(text);
    if (!stmt) return stmt.take_error();
    *target = std::move(*stmt);
  }
  return Status::success();
}

ResultJson ResultJson::of(const JobResult& result) {
  if (result.status == ResultStatus::failed) return {};  // a failure row keeps none of them
  return ResultJson{json_object_text(result.params), json_object_text(result.metrics),
                    folds_json_text(result.folds)};
}

Status ResultsStore::put_result(const JobResult& r, int64_t ts_ns, bool& inserted) {
  return put_result(r, ResultJson::of(r), ts_ns, inserted);
}

Status ResultsStore::put_result(const JobResult& r, const ResultJson& json, int64_t ts_ns,
                                bool& inserted) {
  inserted = false;
  if (r.status == ResultStatus::failed) {
    insert_failure_.bind(1, r.key.run).bind(2, r.key.study).bind(3, r.key.trial);
    insert_failure_.bind(4, static_cast<int64_t>(r.attempt)).bind(5, r.reason);
    insert_failure_.bind(6, r.worker).bind(7, ts_ns);
    auto st = insert_failure_.run();
    if (!st) insert_failure_.reset();
    inserted = st && db_.changes() > 0;
    return with_context(st, "storing failure of " + job_key_text(r.key));
  }
  const bool is_final = r.key.trial < 0;
  // One row per result on the persister's hot path: every text is bound
  // without a copy, so `r` and `json` must outlive s.run().
  auto& s = insert_trial_;
  s.bind_unowned(1, r.key.run).bind_unowned(2, r.key.study).bind(3, r.key.trial);
  s.bind_unowned(4, wire_text(is_final ? JobKind::final_fit : JobKind::trial)).bind(5, static_cast<int64_t>(r.attempt));
  s.bind_unowned(6, r.worker).bind_unowned(7, json.params).bind_unowned(8, json.metrics);
  s.bind_unowned(9, json.folds).bind(10, r.wall_s).bind(11, r.cpu_s);
  s.bind(12, static_cast<int64_t>(r.peak_rss_bytes)).bind(13, r.cache_hit ? 1 : 0);
  s.bind_unowned(14, r.data_fingerprint).bind(15, ts_ns);
  s.bind(16, r.data_first_ts).bind(17, r.data_last_ts).bind_unowned(18, wire_text(r.status));
  auto st = s.run();
  if (!st) {
    s.reset();
    return with_context(st, "storing result of " + job_key_text(r.key));
  }
  inserted = db_.changes() > 0;
  if (!is_final || !inserted) return Status::success();
  auto& m = insert_model_;
  m.bind(1, r.key.run).bind(2, r.key.study).bind(3, r.artifact_path);
  m.bind(4, r.promoted.value_or(false) ? 1 : 0).bind(5, json_object_text(r.gates));
  m.bind_unowned(6, json.metrics).bind_unowned(7, json.params).bind(8, ts_ns);
  st = m.run();
  if (!st) m.reset();
  return with_context(st, "storing model of " + job_key_text(r.key));
}

Status ResultsStore::decide_promotions(const std::string& run, double fdr_q) {
  struct Candidate {
    std::string study;
    bool gates_passed = false;
    double p = NAN;
    std::string gates;
  };
  std::vector<Candidate> candidates;
  {
    auto select = db_.prepare(
        "SELECT study, COALESCE(gates_passed, promoted), p_value, gates FROM models WHERE run = ?1 "
        "ORDER BY study");
    if (!select) return select.take_error();
    select->bind(1, run);
    while (true) {
      auto has = select->step();
      if (!has) return with_context(has.take_error(), "reading the models of run " + run);
      if (!*has) break;
      candidates.push_back({select->column_text(0), select->column_int(1) != 0,
                            select->column_is_null(2) ? NAN : select->column_double(2),
                            select->column_text(3)});
    }
  }
  std::vector<double> p_values;
  for (const auto& c : candidates) p_values.push_back(c.p);
  const std::vector<double> q = benjamini_hochberg(p_values);
  const auto tested = static_cast<int64_t>(
      std::count_if(p_values.begin(), p_values.end(), [](double p) { return std::isfinite(p); }));
  auto update = db_.prepare(
      "UPDATE models SET q_value = ?3, promoted = ?4, decision = ?5, gates = ?6 "
      "WHERE run = ?1 AND study = ?2");
  if (!update) return update.take_error();
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    const bool fdr_pass = std::isfinite(q[i]) && q[i] <= fdr_q;
    auto gates = nlohmann::json::parse(c.gates, nullptr, false);
    if (!gates.is_object()) gates = nlohmann::json::object();
    gates["fdr_q"] = std::isfinite(q[i])
                         ? fmt::format("{}: q {:.4f} {} {:.4f} (BH over {} studies)",
                                       fdr_pass ? "pass" : "fail", q[i], fdr_pass ? "<=" : ">", fdr_q,
                                       tested)
                         : std::string("fail: no holdout p-value");
    const bool promoted = c.gates_passed && fdr_pass;
    std::string decision;
    if (promoted) {
      decision = fmt::format("promoted: every gate passed, q {:.4f} <= {:.4f} (BH over {} studies)",
                             q[i], fdr_q, tested);
    } else {
      for (const auto& [gate, verdict] : gates.items()) {
        if (!verdict.is_string() || verdict.get<std::string>() == "pass") continue;
        if (verdict.get<std::string>().rfind("pass:", 0) == 0) continue;
        decision += (decision.empty() ? "not promoted: " : "; ") + gate + " " + verdict.get<std::string>();
      }
      if (decision.empty()) decision = "not promoted";
    }
    update->bind(1, run).bind(2, c.study);
    update->bind(3, std::isfinite(q[i]) ? std::optional<double>(q[i]) : std::nullopt);
    update->bind(4, promoted ? 1 : 0).bind(5, decision).bind(6, gates.dump());
    auto st = update->run();
    update->reset();
    if (!st) return with_context(st, "deciding the promotion of " + run + "/" + c.study);
  }
  auto row = db_.prepare("UPDATE runs SET fdr_q = ?2, studies_tested = ?3 WHERE run = ?1");
  if (!row) return row.take_error();
  row->bind(1, run).bind(2, fdr_q).bind(3, tested);
  return with_context(row->run(), "recording the promotion decision of run " + run);
}

Status ResultsStore::put_checkpoint(const RunCheckpoint& c, int64_t ts_ns) {
  int64_t done = 0, skipped = 0;
  for (const auto& j : c.jobs) {
    done += j.state == WorkState::done;
    skipped += j.state == WorkState::skipped;
  }
  // The dispatch key is recorded once and never replaced: a later
  // checkpoint with another key is refused before it gets here.
  auto run = db_.prepare(
      "INSERT INTO runs (run, status, config_path, started_ns, updated_ns, finished_ns, "
      "total_jobs, done_jobs, skipped_jobs, dispatch_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
      "?8, ?9, ?10) ON CONFLICT (run) DO UPDATE SET status = ?2, updated_ns = ?5, "
      "finished_ns = ?6, total_jobs = ?7, done_jobs = ?8, skipped_jobs = ?9, "
      "dispatch_key = COALESCE(dispatch_key, ?10)");
  if (!run) return run.take_error();
  run->bind(1, c.run).bind(2, wire_text(c.status)).bind(3, c.config_path);
  run->bind(4, c.started_ns).bind(5, ts_ns);
  run->bind(6, c.status == RunStatus::completed ? std::optional<int64_t>(ts_ns) : std::nullopt);
  run->bind(7, static_cast<int64_t>(c.jobs.size())).bind(8, done).bind(9, skipped);
  run->bind(10, c.dispatch_key);
  if (auto st = run->run(); !st) return with_context(st, "storing run " + c.run);
  auto study = db_.prepare(
      "INSERT INTO studies (run, study, symbol, timeframe, horizon, model) VALUES "
      "(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING");
  // Attempts only grow: a checkpoint that left the persister before a later
  // one (or a scheduler restarted from an older one) never lowers the count.
  auto job = db_.prepare(
      "INSERT INTO jobs (run, study, trial, kind, state, attempts, reason, priority, spec, "
      "updated_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO UPDATE SET "
      "state = ?5, attempts = MAX(attempts, ?6), reason = ?7, spec = ?9, updated_ns = ?10");
  if (!study) return study.take_error();
  if (!job) return job.take_error();
  for (const auto& j : c.jobs) {
    const Job& spec = j.job;
    study->bind(1, c.run).bind(2, spec.key.study).bind(3, spec.symbol).bind(4, spec.timeframe);
    study->bind(5, static_cast<int64_t>(spec.horizon)).bind(6, spec.model);
    if (auto st = study->run(); !st) return with_context(st, "storing study " + spec.key.study);
    std::string packed = encode_value(spec);
    job->bind(1, c.run).bind(2, spec.key.study).bind(3, spec.key.trial).bind(4, wire_text(spec.kind));
    job->bind(5, wire_text(j.state)).bind(6, static_cast<int64_t>(spec.attempt)).bind(7, j.reason);
    job->bind(8, spec.priority).bind_blob(9, packed.data(), packed.size()).bind(10, ts_ns);
    if (auto st = job->run(); !st) return with_context(st, "storing job " + job_key_text(spec.key));
  }
  return Status::success();
}

Status ResultsStore::put_event(std::string_view topic, std::string_view type, int64_t ts_ns,
                               std::string_view body) {
  insert_event_.bind(1, ts_ns).bind(2, topic).bind(3, type);
  insert_event_.bind_blob(4, body.data(), body.size());
  auto st = insert_event_.run();
  if (!st) insert_event_.reset();
  return st;
}

Status ResultsStore::put_alert(std::string_view topic, int64_t ts_ns, const std::string& json) {
  auto stmt = db_.prepare("INSERT INTO alerts (ts_ns, topic, body) VALUES (?1, ?2, ?3)");
  if (!stmt) return stmt.take_error();
  return stmt->bind(1, ts_ns).bind(2, topic).bind(3, json).run();
}

Status ResultsStore::put_telemetry(std::string_view topic, int64_t ts_ns,
                                   const std::string& json) {
  bool gpu = topic.rfind("telemetry.gpu", 0) == 0;
  auto stmt = db_.prepare(gpu ? "INSERT INTO telemetry_gpu (ts_ns, topic, body) VALUES (?1, ?2, ?3)"
                              : "INSERT INTO telemetry_host (ts_ns, host, body) VALUES (?1, ?2, ?3)");
  if (!stmt) return stmt.take_error();
  std::string_view name = topic;
  if (!gpu && name.rfind("telemetry.host.", 0) == 0) name.remove_prefix(15);
  return stmt->bind(1, ts_ns).bind(2, name).bind(3, json).run();
}

Status ResultsStore::prune_telemetry(int64_t older_than_ns) {
  for (const char* table : {"telemetry_host", "telemetry_gpu"}) {
    auto stmt = db_.prepare(std::string("DELETE FROM ") + table + " WHERE ts_ns < ?1");
    if (!stmt) return stmt.take_error();
    if (auto st = stmt->bind(1, older_than_ns).run(); !st) return st;
  }
  return Status::success();
}

Result<std::optional<RunCheckpoint>> ResultsStore::checkpoint(const std::string& run_id) {
  auto row = run(run_id);
  if (!row) return row.take_error();
  if (!*row) return std::optional<RunCheckpoint>();
  RunCheckpoint c;
  c.run = run_id;
  c.status = (*row)->status;
  c.config_path = (*row)->config_path;
  c.started_ns = (*row)->started_ns;
  auto key = dispatch_key(run_id);
  if (!key) return key.take_error();
  c.dispatch_key = std::move(*key);
  auto stmt = db_.prepare(
      "SELECT state, reason, spec, MAX(attempts, "
      "COALESCE((SELECT attempt FROM trials t WHERE t.run = j.run AND t.study = j.study AND "
      "t.trial = j.trial), 0), "
      "COALESCE((SELECT MAX(attempt) FROM failures f WHERE f.run = j.run AND f.study = j.study "
      "AND f.trial = j.trial), 0)) "
      "FROM jobs j WHERE run = ?1 ORDER BY priority, study, trial");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run_id);
  while (true) {
    auto has = stmt->step();
    if (!has) return has.take_error();
    if (!*has) break;
    auto blob = stmt->column_blob(2);
    auto job = decode_value<Job>(
        std::string_view(reinterpret_cast<const char*>(blob.data()), blob.size()), "spec");
    if (!job) return make_error(ErrorKind::corrupt, "run " + run_id + ": job spec: " + job.error());
    // The stored rows prove attempts the last checkpoint may not have seen
    // (a stop or crash within a second of a dispatch): resume counts on.
    job->attempt = std::max<uint32_t>(job->attempt, static_cast<uint32_t>(stmt->column_int(3)));
    auto state = parse_wire<WorkState>(stmt->column_text(0));
    if (!state) {
      return make_error(ErrorKind::corrupt, "run " + run_id + ": unknown job state '" +
                                                stmt->column_text(0) + "'");
    }
    c.jobs.push_back(JobState{std::move(*job), *state, stmt->column_text(1)});
  }
  return std::optional<RunCheckpoint>(std::move(c));
}

}  // namespace nightshift
