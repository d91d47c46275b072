// The history paths: /api/runs, /api/runs/{id}, /studies, /trials?study=,
// and the latest stored run for /api/status, all from the results database
// opened read-only.
#include <algorithm>

#include "stages/gateway/api.h"

namespace nightshift::gateway {
namespace {

constexpr int kRecentFailureRows = 20;

double seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

nlohmann::json run_json(const RunRow& r) {
  return {{"run", r.run},
          {"status", std::string(wire_text(r.status))},
          {"config_path", r.config_path},
          {"started", seconds(r.started_ns)},
          {"updated", seconds(r.updated_ns)},
          {"finished", r.finished_ns ? nlohmann::json(seconds(*r.finished_ns)) : nlohmann::json()},
          {"total_jobs", r.total_jobs},
          {"done_jobs", r.done_jobs},
          {"skipped_jobs", r.skipped_jobs}};
}

nlohmann::json json_or_text(const std::string& text) {
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json(text) : parsed;
}

}  // namespace

std::optional<RunRow> Api::latest_stored_run() {
  std::lock_guard lock(latest_run_mutex_);
  auto now = std::chrono::steady_clock::now();
  if (now < latest_run_read_) return latest_run_;
  latest_run_read_ = now + std::chrono::seconds(1);
  auto runs = history_.with_store([](ResultsStore& s) { return s.runs(); });
  latest_run_ = runs && *runs && !(*runs)->empty() ? std::optional<RunRow>((**runs)[0]) : std::nullopt;
  return latest_run_;
}

Response Api::runs() {
  auto rows = history_.with_store([](ResultsStore& s) { return s.runs(); });
  nlohmann::json list = nlohmann::json::array();
  if (rows && !*rows) return error_response(500, "reading runs: " + rows->error());
  if (rows) {
    for (const auto& r : **rows) list.push_back(run_json(r));
  }
  return json_response(200, {{"runs", list}});
}

Response Api::run(const std::string& id, const std::string& rest, const Target& target) {
  if (rest != "" && rest != "/studies" && rest != "/trials") return error_response(404, "no such path");
  if (id.empty()) return error_response(404, "no such run ''");
  auto response = history_.with_store([&](ResultsStore& store) -> Response {
    auto row = store.run(id);
    if (!row) return error_response(500, "reading run: " + row.error());
    if (!*row) return error_response(404, "no such run '" + id + "'");
    if (rest.empty()) {
      nlohmann::json out = run_json(**row);
      if (auto counts = store.run_counts(id)) {
        out["results"] = counts->result_rows;
        out["failed_attempts"] = counts->failed_attempts;
        out["models"] = counts->models;
        out["promoted"] = counts->promoted;
      }
      if (auto states = store.job_states(id)) out["jobs_by_state"] = *states;
      nlohmann::json failures = nlohmann::json::array();
      if (auto rows = store.failures(id, kRecentFailureRows)) {
        for (const auto& f : *rows) {
          failures.push_back({{"study", f.study}, {"symbol", study_symbol(f.study)},
                              {"trial", f.trial}, {"attempt", f.attempt}, {"reason", f.reason},
                              {"worker", f.worker}, {"ts", seconds(f.persisted_ns)}});
        }
      }
      out["recent_failures"] = failures;
      return json_response(200, out);
    }
    auto studies = store.studies(id);
    if (!studies) return error_response(500, "reading studies: " + studies.error());
    if (rest == "/studies") {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& s : *studies) {
        list.push_back({{"study", s.study},
                        {"symbol", study_symbol(s.study)},
                        {"best_params", s.best_params.empty() ? nlohmann::json() : json_or_text(s.best_params)},
                        {"cv_auc", s.cv_auc ? nlohmann::json(*s.cv_auc) : nlohmann::json()},
                        {"holdout_auc", s.holdout_auc ? nlohmann::json(*s.holdout_auc) : nlohmann::json()},
                        {"promoted", s.promoted ? nlohmann::json(*s.promoted) : nlohmann::json()},
                        {"verdict", s.verdict}});
      }
      return json_response(200, {{"run", id}, {"studies", list}});
    }
    auto study = target.query.find("study");
    if (study == target.query.end() || study->second.empty())
      return error_response(400, "study is required, e.g. ?study=BTCUSDT.1h.h1.logreg_l2");
    bool known = std::any_of(studies->begin(), studies->end(),
                             [&](const StudyRow& s) { return s.study == study->second; });
    if (!known) return error_response(404, "no study '" + study->second + "' in run '" + id + "'");
    auto trials = store.trials(id, study->second);
    if (!trials) return error_response(500, "reading trials: " + trials.error());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& t : *trials) {
      list.push_back({{"trial", t.trial}, {"kind", t.kind}, {"attempt", t.attempt},
                      {"worker", t.worker}, {"params", json_or_text(t.params)},
                      {"metrics", json_or_text(t.metrics)}, {"wall_s", t.wall_s},
                      {"cpu_s", t.cpu_s}, {"peak_rss_bytes", t.peak_rss_bytes},
                      {"cache_hit", t.cache_hit}, {"ts", seconds(t.persisted_ns)}});
    }
    return json_response(200, {{"run", id}, {"study", study->second}, {"trials", list}});
  });
  if (!response) return error_response(404, "no such run '" + id + "' (no results database yet)");
  return *response;
}

}  // namespace nightshift::gateway
