// The worker process: pulls jobs, gets each job's dataset from the fetcher's
// dataset service, runs it, pushes the result (with wall seconds, CPU
// seconds, peak RSS), and publishes heartbeats with its free slots and
// current job.
//
// Memory: the process runs under a hard cap (max_memory_per_process). A job
// that hits it fails with reason "memory limit" and the worker exits with
// kExitMemoryLimit so the supervisor starts a fresh one. After a job, RSS
// above memory_threshold x cap makes the worker exit with kExitRestart: the
// job finished and was reported, the process just wants renewing. A job
// running past scheduler.job_timeout_s is reported failed and the worker
// exits with kExitJobTimeout (job_watchdog.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "config/config.h"

namespace nightshift::trainer {

inline constexpr int kExitMemoryLimit = 3;  // a job hit the hard cap
inline constexpr int kExitRestart = 4;      // soft threshold passed between jobs

struct WorkerOptions {
  std::string worker_id;                     // unique per host; in heartbeats and results
  std::size_t feature_cache_bytes = 256u << 20;
  std::chrono::milliseconds heartbeat_interval{1000};
  uint64_t max_jobs = 0;                     // exit 0 after this many jobs (0: no limit)
  std::string run;  // when set (the supervisor sets it), jobs of any other run are refused
};

// Runs until stop_requested(), max_jobs, or a memory exit. Returns the
// process exit code.
int run_worker(const config::Config& config, const WorkerOptions& options);

}  // namespace nightshift::trainer
