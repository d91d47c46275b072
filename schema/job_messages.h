// Jobs, results, worker heartbeats, job state events and run progress.
// A job's stable key is (run, study, trial); attempt counts deliveries.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nightshift {

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

struct Job {
  static constexpr const char* kType = "job";
  JobKey key;
  uint32_t attempt = 1;
  std::string kind;  // "trial" or "final"
  std::string symbol;
  std::string timeframe;
  uint32_t horizon = 1;
  std::string model;   // e.g. logreg_l2, logreg_enet
  std::string source;  // market data source, e.g. synthetic
  int64_t start_ts = 0;  // dataset range, seconds since epoch (0 = default)
  int64_t end_ts = 0;
  std::map<std::string, double> params;       // hyperparameters
  std::map<std::string, std::string> options;  // cv spec, feature spec, ...
  int32_t priority = 0;
  int64_t lease_ms = 0;

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
    v("options", options);
    v("priority", priority);
    v("lease_ms", lease_ms);
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
  std::string status;  // ok, failed
  std::string reason;  // why it failed; empty when ok
  std::string worker;  // host/id
  std::map<std::string, double> params;
  std::map<std::string, double> metrics;  // out-of-fold or holdout metrics
  std::vector<FoldMetrics> folds;
  double wall_s = 0;
  double cpu_s = 0;
  uint64_t peak_rss_bytes = 0;
  bool cache_hit = false;
  std::string data_fingerprint;
  std::optional<std::string> artifact_path;
  std::optional<bool> promoted;
  std::map<std::string, std::string> gates;  // gate -> "pass" / "fail: ..."

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
    v("data_fingerprint", data_fingerprint);
    v("artifact_path", artifact_path);
    v("promoted", promoted);
    v("gates", gates);
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

// job.<state>.<run>: dispatched, started, succeeded, failed, retried, skipped.
struct JobEvent {
  static constexpr const char* kType = "job.event";
  JobKey key;
  std::string state;
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

// job.persisted.<run>: the results of one run that one persister COMMIT
// stored, announced after it returned: state "persisted", or "failed" with
// the attempt's reason. One message per commit (up to kMaxJobs each), not
// one per result: a burst of 2000 results is one message on the bus.
struct JobsPersisted {
  static constexpr const char* kType = "job.persisted";
  static constexpr std::size_t kMaxJobs = 1000;
  std::string run;
  std::vector<JobEvent> jobs;

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
  }
};

// A job as the scheduler tracks it: its spec, state and why it was skipped.
struct JobState {
  Job job;             // job.attempt: deliveries so far
  std::string state;   // blocked, pending, running, done, skipped
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
  std::string status;  // running, interrupted, completed
  std::string config_path;
  int64_t started_ns = 0;
  std::vector<JobState> jobs;

  template <class V>
  void visit(V& v) {
    v("run", run);
    v("status", status);
    v("config_path", config_path);
    v("started_ns", started_ns);
    v("jobs", jobs);
  }
};

}  // namespace nightshift
