// Jobs, results, worker heartbeats, job state events and run progress.
// A job's stable key is (run, study, trial); attempt counts deliveries.
#pragma once

#include <cstdint>
#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/wire_enum.h"

namespace nightshift {

// The vocabulary of a run, as enums that travel as text (schema/wire_enum.h).

enum class JobKind { trial, final_fit };
template <>
struct WireNames<JobKind> {
  static constexpr std::array<std::string_view, 2> names{"trial", "final"};
};

// Where the scheduler has a job (see stages/scheduler/job_board.h).
enum class WorkState { blocked, pending, running, done, skipped };
template <>
struct WireNames<WorkState> {
  static constexpr std::array<std::string_view, 5> names{"blocked", "pending", "running", "done",
                                                         "skipped"};
};

// pruned: a trial the median pruner stopped after some folds (Job.prune);
// its row keeps the folds it ran. Only trial jobs may be pruned.
enum class ResultStatus { ok, failed, pruned };
template <>
struct WireNames<ResultStatus> {
  static constexpr std::array<std::string_view, 3> names{"ok", "failed", "pruned"};
};

enum class RunStatus { running, interrupted, completed };
template <>
struct WireNames<RunStatus> {
  static constexpr std::array<std::string_view, 3> names{"running", "interrupted", "completed"};
};

// What a job.<state>.<run> event says happened to one attempt.
enum class JobStep { dispatched, started, succeeded, failed, retried, skipped };
template <>
struct WireNames<JobStep> {
  static constexpr std::array<std::string_view, 6> names{"dispatched", "started", "succeeded",
                                                         "failed",     "retried", "skipped"};
};

// How a job validates: walk-forward folds (train only on the past) or purged
// k-fold (train on both sides of the test fold, purged and embargoed).
enum class CvScheme { walk_forward, purged_kfold };
template <>
struct WireNames<CvScheme> {
  static constexpr std::array<std::string_view, 2> names{"walk_forward", "purged_kfold"};
};

struct JobKey {
  std::string run;
  std::string study;
  int64_t trial = 0;  // -1 for a study's final fit

  template <class V>
  void visit(V& v) {
    v("run", run);
    v("study", study);
    v("trial", trial);
  }
};

// How a job is validated: the folds and the final holdout.
struct CvPlan {
  CvScheme scheme = CvScheme::walk_forward;
  uint32_t n_splits = 5;
  uint32_t embargo_minutes = 0;
  double holdout_fraction = 0.2;  // the last part of the data, kept for the final fit

  template <class V>
  void visit(V& v) {
    v("scheme", scheme);
    v("n_splits", n_splits);
    v("embargo_minutes", embargo_minutes);
    v("holdout_fraction", holdout_fraction);
  }
};

// Diagnostics a job may carry: memory it allocates and touches on purpose, so
// the worker's memory cap and soft threshold can be reached in tests.
struct MemoryProbe {
  uint32_t alloc_mb = 0;   // freed when the job ends
  uint32_t retain_mb = 0;  // kept until the process exits, like a leak

  template <class V>
  void visit(V& v) {
    v("alloc_mb", alloc_mb);
    v("retain_mb", retain_mb);
  }
};

// The median pruner's thresholds for one trial, computed by the scheduler
// when it sends the trial (stages/scheduler/pruner.h): after fold
// first_fold + i (0-based), a trial whose running mean fold AUC is below
// running_auc_below[i] stops there and is reported `pruned`.
struct PruneThresholds {
  uint32_t first_fold = 0;
  std::vector<double> running_auc_below;

  template <class V>
  void visit(V& v) {
    v("first_fold", first_fold);
    v("running_auc_below", running_auc_below);
  }
};

struct Job {
  static constexpr const char* kType = "job";
  JobKey key;
  uint32_t attempt = 1;
  JobKind kind = JobKind::trial;
  std::string symbol;
  std::string timeframe;
  uint32_t horizon = 1;
  std::string model;   // e.g. logreg_l2, logreg_enet
  std::string source;  // market data source, e.g. synthetic
  int64_t start_ts = 0;  // dataset range, seconds since epoch (0 = default)
  int64_t end_ts = 0;
  std::map<std::string, double> params;  // hyperparameters
  CvPlan cv;
  std::optional<std::string> feature_spec;  // absent: the default spec
  std::optional<MemoryProbe> memory_probe;
  int32_t priority = 0;
  // Proof that this attempt came from the run's scheduler
  // (schema/dispatch_token.h); absent in a plan not yet dispatched.
  std::optional<std::string> dispatch_token;
  std::optional<PruneThresholds> prune;  // trials only; absent: run every fold

  template <class V>
  void visit(V& v) {
    v("key", key);
    v("attempt", attempt);
    v("kind", kind);
    v("symbol", symbol);
    v("timeframe", timeframe);
    v("horizon", horizon);
    v("model", model);
    v("source", source);
    v("start_ts", start_ts);
    v("end_ts", end_ts);
    v("params", params);
    v("cv", cv);
    v("feature_spec", feature_spec);
    v("memory_probe", memory_probe);
    v("priority", priority);
    v("dispatch_token", dispatch_token);
    v("prune", prune);
  }
};

struct FoldMetrics {
  std::map<std::string, double> metrics;  // auc, brier, accuracy, log_loss
  uint64_t train_rows = 0;
  uint64_t test_rows = 0;

  template <class V>
  void visit(V& v) {
    v("metrics", metrics);
    v("train_rows", train_rows);
    v("test_rows", test_rows);
  }
};

struct JobResult {
  static constexpr const char* kType = "result";
  JobKey key;
  uint32_t attempt = 1;
  ResultStatus status = ResultStatus::ok;
  std::string reason;  // why it failed; empty when ok
  std::string worker;  // host/id
  std::map<std::string, double> params;
  std::map<std::string, double> metrics;  // out-of-fold or holdout metrics
  std::vector<FoldMetrics> folds;
  double wall_s = 0;
  double cpu_s = 0;
  uint64_t peak_rss_bytes = 0;
  // Answered from the result cache (the scheduler sends these; docs/cache.md).
  bool cache_hit = false;
  // The worker had the dataset's features already (its feature cache).
  std::optional<bool> features_cached;
  std::string data_fingerprint;
  // The dataset's first and last bar (open time, seconds since epoch): with
  // the fingerprint, exactly which bars the result was computed on (what
  // `nightshift rerun` asks the market cache for). Absent from older workers.
  std::optional<int64_t> data_first_ts;
  std::optional<int64_t> data_last_ts;
  std::optional<std::string> artifact_path;
  // A final fit: whether every per-study gate passed. Promotion itself is
  // decided over the whole run once it completes (false discovery rate;
  // ResultsStore::decide_promotions), so this is a candidate, not a verdict.
  std::optional<bool> promoted;
  std::map<std::string, std::string> gates;  // gate -> "pass" / "fail: ..."
  // The job's token, echoed: the persister stores nothing without it.
  std::optional<std::string> dispatch_token;

  template <class V>
  void visit(V& v) {
    v("key", key);
    v("attempt", attempt);
    v("status", status);
    v("reason", reason);
    v("worker", worker);
    v("params", params);
    v("metrics", metrics);
    v("folds", folds);
    v("wall_s", wall_s);
    v("cpu_s", cpu_s);
    v("peak_rss_bytes", peak_rss_bytes);
    v("cache_hit", cache_hit);
    v("features_cached", features_cached);
    v("data_fingerprint", data_fingerprint);
    v("artifact_path", artifact_path);
    v("promoted", promoted);
    v("gates", gates);
    v("dispatch_token", dispatch_token);
    v("data_first_ts", data_first_ts);
    v("data_last_ts", data_last_ts);
  }
};

struct Heartbeat {
  static constexpr const char* kType = "heartbeat";
  std::string host;
  std::string worker_id;
  uint32_t slots_total = 1;
  uint32_t slots_free = 1;
  std::optional<JobKey> current_job;
  uint64_t rss_bytes = 0;
  uint64_t jobs_done = 0;

  template <class V>
  void visit(V& v) {
    v("host", host);
    v("worker_id", worker_id);
    v("slots_total", slots_total);
    v("slots_free", slots_free);
    v("current_job", current_job);
    v("rss_bytes", rss_bytes);
    v("jobs_done", jobs_done);
  }
};

// job.<step>.<run>: what happened to one attempt of a job.
struct JobEvent {
  static constexpr const char* kType = "job.event";
  JobKey key;
  JobStep state = JobStep::started;
  uint32_t attempt = 1;
  std::string reason;
  std::string worker;

  template <class V>
  void visit(V& v) {
    v("key", key);
    v("state", state);
    v("attempt", attempt);
    v("reason", reason);
    v("worker", worker);
  }
};

// One result row a commit stored: the attempt's outcome, ok or failed (a
// failed attempt is stored too, with its reason).
struct PersistedResult {
  JobKey key;
  uint32_t attempt = 1;
  ResultStatus status = ResultStatus::ok;
  std::string reason;
  std::string worker;

  template <class V>
  void visit(V& v) {
    v("key", key);
    v("attempt", attempt);
    v("status", status);
    v("reason", reason);
    v("worker", worker);
  }
};

// job.persisted.<run>: the results of one run that one persister COMMIT
// stored, announced after it returned. One message per commit (up to
// kMaxJobs each), not one per result: a burst of 2000 results is one message
// on the bus.
struct JobsPersisted {
  static constexpr const char* kType = "job.persisted";
  static constexpr std::size_t kMaxJobs = 1000;
  std::string run;
  std::vector<PersistedResult> jobs;

  template <class V>
  void visit(V& v) {
    v("run", run);
    v("jobs", jobs);
  }
};

struct RunProgress {
  static constexpr const char* kType = "run.progress";
  std::string run;
  uint64_t total = 0;
  uint64_t done = 0;
  uint64_t running = 0;
  uint64_t failed = 0;
  uint64_t skipped = 0;
  double jobs_per_s = 0;
  std::optional<double> eta_s;
  // The result cache this run (absent when it is disabled): jobs answered
  // from it, and jobs looked up and sent to a worker.
  std::optional<uint64_t> cache_hits;
  std::optional<uint64_t> cache_misses;

  template <class V>
  void visit(V& v) {
    v("run", run);
    v("total", total);
    v("done", done);
    v("running", running);
    v("failed", failed);
    v("skipped", skipped);
    v("jobs_per_s", jobs_per_s);
    v("eta_s", eta_s);
    v("cache_hits", cache_hits);
    v("cache_misses", cache_misses);
  }
};

// A job as the scheduler tracks it: its spec, state and why it was skipped.
struct JobState {
  Job job;  // job.attempt: deliveries so far
  WorkState state = WorkState::pending;
  std::string reason;  // skip reason, last failure

  template <class V>
  void visit(V& v) {
    v("job", job);
    v("state", state);
    v("reason", reason);
  }
};

// The scheduler's state, sent to the persister over the results pipeline
// (the persister is the only writer), so `nightshift resume RUN` can rebuild it.
struct RunCheckpoint {
  static constexpr const char* kType = "run.checkpoint";
  std::string run;
  RunStatus status = RunStatus::running;
  std::string config_path;
  int64_t started_ns = 0;
  std::vector<JobState> jobs;
  // The run's dispatch key (schema/dispatch_token.h). The first checkpoint
  // of a run records it; the persister refuses a later one that does not
  // carry the same key, and every result whose token it does not derive.
  std::optional<std::string> dispatch_key;

  template <class V>
  void visit(V& v) {
    v("run", run);
    v("status", status);
    v("config_path", config_path);
    v("started_ns", started_ns);
    v("jobs", jobs);
    v("dispatch_key", dispatch_key);
  }
};

}  // namespace nightshift
