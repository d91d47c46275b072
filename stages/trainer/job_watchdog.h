// JobWatchdog: the worker side of scheduler.job_timeout_s. A job that runs
// longer than the timeout (stuck in a solver, a dead lock, a read that never
// returns) cannot be interrupted safely from inside the process, so the
// watchdog thread reports the attempt as failed — "job exceeded
// job_timeout_s=N (ran M s)", through a socket and context of its own, since
// the stuck thread owns the worker's sockets — and then ends the process
// with kExitJobTimeout. The supervisor restarts the worker; the scheduler
// retries the job and skips it after max_attempts with that reason. The
// heartbeat thread of a stuck worker keeps beating, which is why the lease
// alone never ended such a worker.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "config/config.h"
#include "schema/job_messages.h"

namespace nightshift::trainer {

inline constexpr int kExitJobTimeout = 5;  // a job ran past scheduler.job_timeout_s

// "job exceeded job_timeout_s=2 (ran 2.0 s)"
std::string job_timeout_reason(std::chrono::seconds timeout, double ran_s);

class JobWatchdog {
 public:
  // Called in the watchdog thread with the timed-out job and the reason;
  // the process exits with kExitJobTimeout when it returns.
  using OnTimeout = std::function<void(const Job& job, const std::string& reason)>;

  JobWatchdog(std::chrono::seconds timeout, OnTimeout on_timeout);
  ~JobWatchdog();
  JobWatchdog(const JobWatchdog&) = delete;
  JobWatchdog& operator=(const JobWatchdog&) = delete;

  void arm(const Job& job);  // a job starts now
  void disarm();             // it ended (reported)

 private:
  void run();

  std::chrono::seconds timeout_;
  OnTimeout on_timeout_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<Job> job_;
  std::chrono::steady_clock::time_point started_{};
  bool stopping_ = false;
  std::thread thread_;
};

// The usual OnTimeout: pushes the failed result for `job` (key, attempt,
// params as sent) to bus.results_in from a fresh context, waiting for it to
// leave (bounded by bus.linger_ms).
void report_timeout(const config::Config& config, const std::string& worker, const Job& job,
                    const std::string& reason);

}  // namespace nightshift::trainer
