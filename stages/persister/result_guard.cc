#include "stages/persister/result_guard.h"

#include <cmath>
#include <system_error>

#include "schema/dispatch_token.h"
#include "schema/names.h"

namespace nightshift::persister {
namespace {

namespace fs = std::filesystem;

std::string local_key(const JobKey& key) { return key.study + "/" + std::to_string(key.trial); }

// Metrics that are probabilities or fractions; every other one only finite,
// log loss also not negative.
bool unit_interval(const std::string& name) {
  return name == "auc" || name == "accuracy" || name == "brier" || name == "auc_p_value" ||
         name == "auc_p_value_naive";
}

std::string metric_problem(const std::map<std::string, double>& metrics) {
  for (const auto& [name, value] : metrics) {
    if (!std::isfinite(value)) return "metric " + name + " is not finite";
    if (unit_interval(name) && (value < 0 || value > 1)) {
      return "metric " + name + " = " + std::to_string(value) + " is outside [0, 1]";
    }
    if (name == "log_loss" && value < 0) return "metric log_loss is negative";
  }
  return "";
}

std::string artifact_problem(const std::string& path, const std::string& artifacts_root) {
  std::error_code ec;
  fs::path root = fs::canonical(artifacts_root, ec);
  if (ec) return "artifacts folder " + artifacts_root + " does not exist";
  fs::path file = fs::canonical(path, ec);  // resolves every symlink on the way
  if (ec) return "artifact " + path + " does not exist";
  auto [r, f] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
  if (r != root.end() || f == file.end()) {
    return "artifact " + path + " is outside the artifacts folder " + root.string();
  }
  if (!fs::is_regular_file(file, ec)) return "artifact " + path + " is not a file";
  return "";
}

}  // namespace

std::string content_problem(const JobResult& r, const std::string& artifacts_root) {
  if (auto why = name_problem("run", r.key.run); !why.empty()) return why;
  if (auto why = name_problem("study", r.key.study); !why.empty()) return why;
  if (r.status == ResultStatus::failed) return "";  // a failure row keeps only its reason
  // The median pruner stops trials; a final fit always runs to the end.
  if (r.status == ResultStatus::pruned && r.key.trial < 0) return "a final fit cannot be pruned";
  if (!std::isfinite(r.wall_s) || r.wall_s < 0 || !std::isfinite(r.cpu_s) || r.cpu_s < 0) {
    return "wall or cpu seconds not finite or negative";
  }
  for (const auto& [name, value] : r.params) {
    if (!std::isfinite(value)) return "param " + name + " is not finite";
  }
  if (auto why = metric_problem(r.metrics); !why.empty()) return why;
  for (const auto& fold : r.folds) {
    if (auto why = metric_problem(fold.metrics); !why.empty()) return "fold " + why;
  }
  if (r.key.trial >= 0) return "";
  if (!r.artifact_path) return "final fit without an artifact";
  return artifact_problem(*r.artifact_path, artifacts_root);
}

ResultGuard::RunPlan* ResultGuard::plan(const std::string& run) {
  if (auto it = runs_.find(run); it != runs_.end()) return &it->second;
  // Not cached: read it once. Unknown runs are not cached, so a flood of
  // forged run names cannot grow this map.
  auto key = store_.dispatch_key(run);
  if (!key || !*key) return nullptr;
  auto jobs = store_.planned_jobs(run);
  if (!jobs) return nullptr;
  RunPlan& cached = runs_[run];
  cached.key = std::move(**key);
  cached.signer = std::make_unique<DispatchSigner>(cached.key);
  cached.jobs.insert(jobs->begin(), jobs->end());
  if (auto studies = store_.planned_study_specs(run)) cached.studies = std::move(*studies);
  return &cached;
}

std::string ResultGuard::admit(const JobResult& r) {
  if (!only_run_.empty() && r.key.run != only_run_) return "not this persister's run " + only_run_;
  RunPlan* run = plan(r.key.run);
  if (run == nullptr) return "unknown run " + r.key.run;
  if (run->jobs.count(local_key(r.key)) == 0) return "not a job of the run's plan";
  if (!r.dispatch_token) return "no dispatch token";
  if (!same_secret(*r.dispatch_token, run->signer->token(r.key, r.attempt))) {
    return "wrong dispatch token for attempt " + std::to_string(r.attempt);
  }
  return "";
}

std::string ResultGuard::admit(const RunCheckpoint& c) {
  if (auto why = name_problem("run", c.run); !why.empty()) return why;
  if (!only_run_.empty() && c.run != only_run_) return "not this persister's run " + only_run_;
  for (const JobState& job : c.jobs) {
    if (job.job.key.run != c.run) return "job of another run " + job.job.key.run;
    if (auto why = name_problem("study", job.job.key.study); !why.empty()) return why;
    if (auto why = name_problem("symbol", job.job.symbol); !why.empty()) return why;
  }
  if (!c.dispatch_key || !valid_dispatch_key(*c.dispatch_key)) return "no valid dispatch key";
  auto stored = store_.dispatch_key(c.run);
  if (!stored) return "reading the run's dispatch key: " + stored.error();
  if (*stored && !same_secret(**stored, *c.dispatch_key)) {
    return "dispatch key is not the run's";
  }
  return "";
}

void ResultGuard::learn(const RunCheckpoint& c) {
  auto it = runs_.find(c.run);
  if (it == runs_.end()) {
    // First sight in this process: the database has the whole plan now.
    plan(c.run);
    return;
  }
  for (const JobState& job : c.jobs) {
    it->second.jobs.insert(local_key(job.job.key));
    if (job.job.key.trial < 0) it->second.studies[job.job.key.study] = job.job;
  }
}

const Job* ResultGuard::study_spec(const JobKey& key) {
  auto run = runs_.find(key.run);
  if (run == runs_.end()) return nullptr;
  auto study = run->second.studies.find(key.study);
  return study == run->second.studies.end() ? nullptr : &study->second;
}

}  // namespace nightshift::persister
