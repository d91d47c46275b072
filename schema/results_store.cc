#include "schema/results_store.h"

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>

#include "schema/fields.h"
#include "schema/json.h"
#include "schema/migrations.h"

namespace nightshift {
namespace {

// The JSON columns are written directly into one string per column: building
// an nlohmann::json tree first (a map node per key) was the largest cost of a
// committed result. Numbers are shortest round-trip text, with ".0" kept on
// integral values so they read back as floating point; non-finite ones are
// null, as nlohmann writes them.
void append_json_number(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  out += text;
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void append_json_count(std::string& out, uint64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

void append_json_string(std::string& out, std::string_view text) {
  auto plain = [](unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; };
  if (std::all_of(text.begin(), text.end(), plain)) {  // names like "auc": no escaping
    out.append(1, '"').append(text).append(1, '"');
    return;
  }
  // Escapes and non-ASCII: nlohmann's rules (invalid UTF-8 becomes U+FFFD).
  out += dump_json(nlohmann::json(std::string(text)));
}

void append_json_value(std::string& out, double value) { append_json_number(out, value); }
void append_json_value(std::string& out, const std::string& value) {
  append_json_string(out, value);
}

template <typename Map>
void append_json_object(std::string& out, const Map& map) {
  out += '{';
  bool first = true;
  for (const auto& [key, value] : map) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, key);
    out += ':';
    append_json_value(out, value);
  }
  out += '}';
}

template <typename Map>
std::string to_json_text(const Map& map) {
  std::string out;
  out.reserve(2 + 40 * map.size());
  append_json_object(out, map);
  return out;
}

// [{"metrics":{...},"test_rows":N,"train_rows":N}, ...]: keys in nlohmann's order.
std::string folds_json(const std::vector<FoldMetrics>& folds) {
  std::string out;
  out.reserve(2 + 200 * folds.size());
  out += '[';
  for (const auto& fold : folds) {
    if (&fold != &folds.front()) out += ',';
    out += "{\"metrics\":";
    append_json_object(out, fold.metrics);
    out += ",\"test_rows\":";
    append_json_count(out, fold.test_rows);
    out += ",\"train_rows\":";
    append_json_count(out, fold.train_rows);
    out += '}';
  }
  out += ']';
  return out;
}

std::string pack_job(const Job& job) {
  msgpack::sbuffer buffer;
  wire::Packer pk(buffer);
  wire::pack_value(pk, job);
  return std::string(buffer.data(), buffer.size());
}

Result<Job> unpack_job(const std::vector<uint8_t>& bytes) {
  try {
    auto handle = msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    Job job;
    wire::FieldReader reader(handle.get(), "spec");
    if (reader.ok()) job.visit(reader);
    if (!reader.ok()) return make_error(reader.error());
    return job;
  } catch (const std::exception& e) {
    return make_error(std::string("corrupt job spec: ") + e.what());
  }
}

Status with_context(const Status& status, const std::string& what) {
  if (status) return status;
  return make_error(what + ": " + status.error());
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
  if (!db) return make_error("results database " + path + ": " + db.error());
  if (auto st = sql::migrate(*db, sql::results_migrations()); !st) {
    return make_error("results database " + path + ": " + st.error());
  }
  ResultsStore store(std::move(*db));
  if (auto st = store.prepare_writes(); !st) return Error{st.error()};
  return store;
}

Result<ResultsStore> ResultsStore::open_read_only(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    return make_error("results database " + path + " does not exist (no run has been stored)");
  }
  sql::OpenOptions options;
  options.read_only = true;
  options.create = false;
  options.wal = false;  // the writer set WAL; a reader must not change modes
  auto db = sql::Database::open(path, options);
  if (!db) return make_error("results database " + path + ": " + db.error());
  return ResultsStore(std::move(*db));
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
                "persisted_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                "?14, ?15) ON CONFLICT DO NOTHING"},
           Item{&insert_failure_,
                "INSERT INTO failures (run, study, trial, attempt, reason, worker, persisted_ns) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING"},
           Item{&insert_model_,
                "INSERT INTO models (run, study, artifact_path, promoted, gates, metrics, params, "
                "persisted_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING"},
           Item{&insert_event_,
                "INSERT INTO events (ts_ns, topic, type, body) VALUES (?1, ?2, ?3, ?4)"},
       }) {
    auto stmt = db_.prepare(text);
    if (!stmt) return Error{stmt.error()};
    *target = std::move(*stmt);
  }
  return Status::success();
}

ResultJson ResultJson::of(const JobResult& result) {
  if (result.status != "ok") return {};  // a failure row keeps none of them
  return ResultJson{to_json_text(result.params), to_json_text(result.metrics),
                    folds_json(result.folds)};
}

Status ResultsStore::put_result(const JobResult& r, int64_t ts_ns, bool& inserted) {
  return put_result(r, ResultJson::of(r), ts_ns, inserted);
}

Status ResultsStore::put_result(const JobResult& r, const ResultJson& json, int64_t ts_ns,
                                bool& inserted) {
  inserted = false;
  if (r.status != "ok") {
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
  s.bind_unowned(4, is_final ? "final" : "trial").bind(5, static_cast<int64_t>(r.attempt));
  s.bind_unowned(6, r.worker).bind_unowned(7, json.params).bind_unowned(8, json.metrics);
  s.bind_unowned(9, json.folds).bind(10, r.wall_s).bind(11, r.cpu_s);
  s.bind(12, static_cast<int64_t>(r.peak_rss_bytes)).bind(13, r.cache_hit ? 1 : 0);
  s.bind_unowned(14, r.data_fingerprint).bind(15, ts_ns);
  auto st = s.run();
  if (!st) {
    s.reset();
    return with_context(st, "storing result of " + job_key_text(r.key));
  }
  inserted = db_.changes() > 0;
  if (!is_final || !inserted) return Status::success();
  auto& m = insert_model_;
  m.bind(1, r.key.run).bind(2, r.key.study).bind(3, r.artifact_path);
  m.bind(4, r.promoted.value_or(false) ? 1 : 0).bind(5, to_json_text(r.gates));
  m.bind_unowned(6, json.metrics).bind_unowned(7, json.params).bind(8, ts_ns);
  st = m.run();
  if (!st) m.reset();
  return with_context(st, "storing model of " + job_key_text(r.key));
}

Status ResultsStore::put_checkpoint(const RunCheckpoint& c, int64_t ts_ns) {
  int64_t done = 0, skipped = 0;
  for (const auto& j : c.jobs) {
    done += j.state == "done";
    skipped += j.state == "skipped";
  }
  auto run = db_.prepare(
      "INSERT INTO runs (run, status, config_path, started_ns, updated_ns, finished_ns, "
      "total_jobs, done_jobs, skipped_jobs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
      "ON CONFLICT (run) DO UPDATE SET status = ?2, updated_ns = ?5, finished_ns = ?6, "
      "total_jobs = ?7, done_jobs = ?8, skipped_jobs = ?9");
  if (!run) return Error{run.error()};
  run->bind(1, c.run).bind(2, c.status).bind(3, c.config_path).bind(4, c.started_ns);
  run->bind(5, ts_ns).bind(6, c.status == "completed" ? std::optional<int64_t>(ts_ns)
                                                      : std::nullopt);
  run->bind(7, static_cast<int64_t>(c.jobs.size())).bind(8, done).bind(9, skipped);
  if (auto st = run->run(); !st) return with_context(st, "storing run " + c.run);
  auto study = db_.prepare(
      "INSERT INTO studies (run, study, symbol, timeframe, horizon, model) VALUES "
      "(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING");
  auto job = db_.prepare(
      "INSERT INTO jobs (run, study, trial, kind, state, attempts, reason, priority, spec, "
      "updated_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO UPDATE SET "
      "state = ?5, attempts = ?6, reason = ?7, spec = ?9, updated_ns = ?10");
  if (!study) return Error{study.error()};
  if (!job) return Error{job.error()};
  for (const auto& j : c.jobs) {
    const Job& spec = j.job;
    study->bind(1, c.run).bind(2, spec.key.study).bind(3, spec.symbol).bind(4, spec.timeframe);
    study->bind(5, static_cast<int64_t>(spec.horizon)).bind(6, spec.model);
    if (auto st = study->run(); !st) return with_context(st, "storing study " + spec.key.study);
    std::string packed = pack_job(spec);
    job->bind(1, c.run).bind(2, spec.key.study).bind(3, spec.key.trial).bind(4, spec.kind);
    job->bind(5, j.state).bind(6, static_cast<int64_t>(spec.attempt)).bind(7, j.reason);
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
  if (!stmt) return Error{stmt.error()};
  return stmt->bind(1, ts_ns).bind(2, topic).bind(3, json).run();
}

Status ResultsStore::put_telemetry(std::string_view topic, int64_t ts_ns,
                                   const std::string& json) {
  bool gpu = topic.rfind("telemetry.gpu", 0) == 0;
  auto stmt = db_.prepare(gpu ? "INSERT INTO telemetry_gpu (ts_ns, topic, body) VALUES (?1, ?2, ?3)"
                              : "INSERT INTO telemetry_host (ts_ns, host, body) VALUES (?1, ?2, ?3)");
  if (!stmt) return Error{stmt.error()};
  std::string_view name = topic;
  if (!gpu && name.rfind("telemetry.host.", 0) == 0) name.remove_prefix(15);
  return stmt->bind(1, ts_ns).bind(2, name).bind(3, json).run();
}

Status ResultsStore::prune_telemetry(int64_t older_than_ns) {
  for (const char* table : {"telemetry_host", "telemetry_gpu"}) {
    auto stmt = db_.prepare(std::string("DELETE FROM ") + table + " WHERE ts_ns < ?1");
    if (!stmt) return Error{stmt.error()};
    if (auto st = stmt->bind(1, older_than_ns).run(); !st) return st;
  }
  return Status::success();
}

Result<std::optional<RunCheckpoint>> ResultsStore::checkpoint(const std::string& run_id) {
  auto row = run(run_id);
  if (!row) return Error{row.error()};
  if (!*row) return std::optional<RunCheckpoint>();
  RunCheckpoint c;
  c.run = run_id;
  c.status = (*row)->status;
  c.config_path = (*row)->config_path;
  c.started_ns = (*row)->started_ns;
  auto stmt = db_.prepare(
      "SELECT state, reason, spec FROM jobs WHERE run = ?1 ORDER BY priority, study, trial");
  if (!stmt) return Error{stmt.error()};
  stmt->bind(1, run_id);
  while (true) {
    auto has = stmt->step();
    if (!has) return Error{has.error()};
    if (!*has) break;
    auto job = unpack_job(stmt->column_blob(2));
    if (!job) return make_error("run " + run_id + ": " + job.error());
    c.jobs.push_back(JobState{std::move(*job), stmt->column_text(0), stmt->column_text(1)});
  }
  return std::optional<RunCheckpoint>(std::move(c));
}

}  // namespace nightshift
