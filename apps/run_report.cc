#include "apps/run_report.h"

#include <fmt/format.h>

#include <cmath>
#include <ctime>

#include "schema/wire_enum.h"

namespace nightshift::cli {
namespace {

std::string auc_text(const std::optional<double>& auc) {
  return auc ? fmt::format("{:.3f}", *auc) : std::string("-");
}

std::string p_text(const std::optional<double>& p) {
  if (!p) return "-";
  return *p < 1e-4 ? fmt::format("{:.0e}", *p) : fmt::format("{:.4f}", *p);
}

std::string short_params(const std::string& json) {
  auto parsed = nlohmann::json::parse(json, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return "-";
  std::string out;
  for (const auto& [key, value] : parsed.items()) {
    if (!value.is_number()) continue;
    out += (out.empty() ? "" : " ") + fmt::format("{}={:.3g}", key, value.get<double>());
  }
  return out.empty() ? std::string("-") : out;
}

std::string promotion_line(const RunRow& r) {
  if (!r.fdr_q) {
    return "promotion: not decided yet (false-discovery control over the whole run when it completes)";
  }
  return fmt::format("promotion: {} studies tested on their holdout; Benjamini-Hochberg FDR q <= {} "
                     "over the whole run, after the per-study gates",
                     r.studies_tested.value_or(0), *r.fdr_q);
}

std::string cache_line(const RunCacheStats& c, const config::Config& config) {
  if (!config.cache.enabled && c.hits == 0) return "result cache: disabled (cache.enabled: false)";
  return fmt::format("result cache: {} hits, {} misses (hit rate {:.1f}%), {} expired, {} evicted",
                     c.hits, c.misses, 100.0 * c.hit_rate(), c.expired, c.evicted);
}

}  // namespace

std::string format_utc(int64_t ns) {
  std::time_t seconds = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &utc);
  return text;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto total = static_cast<int64_t>(seconds + 0.5);
  if (total >= 3600) return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{}:{:02}", total / 60, total % 60);
}

std::string progress_line(const RunProgress& p, int bar_width) {
  double settled = static_cast<double>(p.done + p.skipped);
  double fraction = p.total > 0 ? settled / static_cast<double>(p.total) : 0;
  int filled = static_cast<int>(fraction * bar_width);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(bar_width - filled), '.');
  std::string line = fmt::format("[{}] {}/{} done  running {}  failed {}  skipped {}  {:.2f} jobs/s  ETA {}",
                                 bar, p.done, p.total, p.running, p.failed, p.skipped, p.jobs_per_s,
                                 p.eta_s ? format_duration(*p.eta_s) : std::string("?"));
  if (p.cache_hits && *p.cache_hits > 0) line += fmt::format("  cached {}", *p.cache_hits);
  return line;
}

Status print_summary(std::ostream& out, ResultsStore& store, const std::string& run,
                     const config::Config& config) {
  auto studies = store.studies(run);
  if (!studies) return studies.take_error();
  std::size_t width = 5;
  for (const auto& s : *studies) width = std::max(width, s.study.size());
  out << fmt::format("{:<{}}  {:<26}  {:>6}  {:>7}  {:>7}  {:>7}  {}\n", "study", width,
                     "best params", "cv auc", "holdout", "p", "q", "verdict");
  int promoted = 0;
  for (const auto& s : *studies) {
    promoted += s.promoted.value_or(false);
    out << fmt::format("{:<{}}  {:<26}  {:>6}  {:>7}  {:>7}  {:>7}  {}\n", s.study, width,
                       short_params(s.best_params), auc_text(s.cv_auc), auc_text(s.holdout_auc),
                       p_text(s.p_value), p_text(s.q_value), s.verdict);
  }
  auto row = store.run(run);
  if (!row) return row.take_error();
  if (*row) {
    const RunRow& r = **row;
    out << fmt::format("run {} {}: {} of {} jobs done, {} skipped; {} of {} studies promoted\n",
                       r.run, wire_text(r.status), r.done_jobs, r.total_jobs, r.skipped_jobs, promoted,
                       studies->size());
    out << promotion_line(r) << "\n";
    auto counts = store.run_counts(run);
    if (counts && counts->pruned_trials > 0) {
      out << fmt::format("{} trials pruned (median pruner; counted as done)\n", counts->pruned_trials);
    }
    if (auto cache = store.run_cache_stats(run)) out << cache_line(*cache, config) << "\n";
  }
  out << "results database: " << config.storage.results_db
      << "\nmodel artifacts:  " << config.storage.artifacts_dir << "\n";
  return Status::success();
}

std::string host_summary(const std::map<std::string, int64_t>& results,
                         const std::map<std::string, int64_t>& workers,
                         const std::map<std::string, int64_t>& telemetry) {
  std::map<std::string, std::string> lines;
  for (const auto& [host, n] : results) {
    auto w = workers.find(host);
    const int64_t count = w == workers.end() ? 0 : w->second;
    lines[host] = fmt::format("{} results from {} worker{}", n, count, count == 1 ? "" : "s");
  }
  for (const auto& [host, samples] : telemetry) {
    if (samples <= 0) continue;
    auto& line = lines[host];
    line += line.empty() ? "telemetry only" : ", telemetry";
  }
  std::string out;
  for (const auto& [host, line] : lines) out += (out.empty() ? "" : "; ") + host + " " + line;
  return out;
}

Result<nlohmann::json> run_status(ResultsStore& store, const std::string& run) {
  auto row = store.run(run);
  if (!row) return row.take_error();
  if (!*row) return make_error("run " + run + " not found");
  const RunRow& r = **row;
  nlohmann::json j;
  j["run"] = r.run;
  j["status"] = wire_text(r.status);
  j["config"] = r.config_path;
  j["started_ns"] = r.started_ns;
  j["updated_ns"] = r.updated_ns;
  j["finished_ns"] = r.finished_ns ? nlohmann::json(*r.finished_ns) : nlohmann::json();
  j["jobs"] = {{"total", r.total_jobs}, {"done", r.done_jobs}, {"skipped", r.skipped_jobs}};
  auto counts = store.run_counts(run);
  if (!counts) return counts.take_error();
  j["result_rows"] = counts->result_rows;
  j["retried_results"] = counts->retried_results;
  j["pruned_trials"] = counts->pruned_trials;
  j["failed_attempts"] = counts->failed_attempts;
  j["models"] = counts->models;
  j["promoted"] = counts->promoted;
  j["promotion"] = {{"decided", r.fdr_q.has_value()},
                    {"fdr_q", r.fdr_q ? nlohmann::json(*r.fdr_q) : nlohmann::json()},
                    {"studies_tested", r.studies_tested ? nlohmann::json(*r.studies_tested) : nlohmann::json()},
                    {"gates_passed", counts->gates_passed},
                    {"promoted", counts->promoted}};
  j["results_by_host"] = counts->results_by_host;
  // Absent for a database no persister of this version has migrated yet.
  if (auto cache = store.run_cache_stats(run)) {
    j["cache"] = {{"hits", cache->hits},
                  {"misses", cache->misses},
                  {"hit_rate", cache->hit_rate()},
                  {"expired", cache->expired},
                  {"evicted", cache->evicted}};
  }
  j["workers_by_host"] = counts->workers_by_host;
  j["telemetry_by_host"] = counts->telemetry_by_host;
  auto alerts = store.active_alerts();
  if (!alerts) return alerts.take_error();
  j["alerts"] = nlohmann::json::array();
  for (const auto& a : *alerts) {
    j["alerts"].push_back({{"topic", a.topic}, {"level", a.level}, {"message", a.message},
                           {"since_ns", a.since_ns}});
  }
  return j;
}

void print_status(std::ostream& out, const nlohmann::json& s) {
  out << fmt::format("run {}: {}\n", s["run"].get<std::string>(), s["status"].get<std::string>());
  out << fmt::format("  jobs: {} done, {} skipped of {}; {} result rows ({} after a retry); "
                     "{} failed attempts\n",
                     s["jobs"]["done"].get<int64_t>(), s["jobs"]["skipped"].get<int64_t>(),
                     s["jobs"]["total"].get<int64_t>(), s["result_rows"].get<int64_t>(),
                     s["retried_results"].get<int64_t>(), s["failed_attempts"].get<int64_t>());
  if (s.value("pruned_trials", int64_t{0}) > 0) {
    out << fmt::format("  pruned: {} trials stopped early by the median pruner (done, status pruned)\n",
                       s["pruned_trials"].get<int64_t>());
  }
  out << fmt::format("  models: {} final fits, {} promoted\n", s["models"].get<int64_t>(),
                     s["promoted"].get<int64_t>());
  if (s.contains("promotion")) {
    const auto& p = s["promotion"];
    if (p["decided"].get<bool>()) {
      out << fmt::format("  promotion: {} studies tested, FDR q <= {} (Benjamini-Hochberg over the run); "
                         "{} passed the per-study gates, {} promoted\n",
                         p["studies_tested"].get<int64_t>(), p["fdr_q"].get<double>(),
                         p["gates_passed"].get<int64_t>(), p["promoted"].get<int64_t>());
    } else {
      out << fmt::format("  promotion: not decided yet ({} of the final fits so far passed the "
                         "per-study gates; FDR over the whole run when it completes)\n",
                         p["gates_passed"].get<int64_t>());
    }
  }
  if (s.contains("cache")) {
    const auto& c = s["cache"];
    out << fmt::format("  result cache: {} hits, {} misses (hit rate {:.1f}%), {} expired, {} evicted\n",
                       c["hits"].get<int64_t>(), c["misses"].get<int64_t>(),
                       100.0 * c["hit_rate"].get<double>(), c["expired"].get<int64_t>(),
                       c["evicted"].get<int64_t>());
  }
  if (s.contains("results_by_host") && !s["results_by_host"].empty()) {
    std::string hosts;
    for (const auto& [host, n] : s["results_by_host"].items()) {
      hosts += fmt::format("{}{} {}", hosts.empty() ? "" : ", ", host, n.get<int64_t>());
    }
    out << "  results by host: " << hosts << "\n";
  }
  if (s.contains("workers_by_host") && s.contains("telemetry_by_host")) {
    auto as_map = [](const nlohmann::json& j) { return j.get<std::map<std::string, int64_t>>(); };
    std::string line = host_summary(as_map(s["results_by_host"]), as_map(s["workers_by_host"]),
                                    as_map(s["telemetry_by_host"]));
    if (!line.empty()) out << "  hosts: " << line << "\n";
  }
  if (s.contains("persister_problem")) {
    out << "  persister: " << s["persister_problem"].get<std::string>() << "\n";
  }
  if (s.contains("alerts")) {
    out << "  alerts: " << s["alerts"].size() << " active\n";
    for (const auto& a : s["alerts"]) {
      out << fmt::format("    {:<9} {} (since {})\n", a["level"].get<std::string>(),
                         a["message"].get<std::string>(), format_utc(a["since_ns"].get<int64_t>()));
    }
  }
}

}  // namespace nightshift::cli
