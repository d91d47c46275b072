#include "stages/trainer/job_watchdog.h"

#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "broker/bus.h"
#include "stages/trainer/job_runner.h"

namespace nightshift::trainer {

std::string job_timeout_reason(std::chrono::seconds timeout, double ran_s) {
  return fmt::format("job exceeded job_timeout_s={} (ran {:.1f} s)", timeout.count(), ran_s);
}

JobWatchdog::JobWatchdog(std::chrono::seconds timeout, OnTimeout on_timeout)
    : timeout_(timeout), on_timeout_(std::move(on_timeout)), thread_([this] { run(); }) {}

JobWatchdog::~JobWatchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void JobWatchdog::arm(const Job& job) {
  {
    std::lock_guard lock(mutex_);
    job_ = job;
    started_ = std::chrono::steady_clock::now();
  }
  wake_.notify_all();
}

void JobWatchdog::disarm() {
  std::lock_guard lock(mutex_);
  job_.reset();
}

void JobWatchdog::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!job_) {
      wake_.wait(lock, [this] { return stopping_ || job_.has_value(); });
      continue;
    }
    auto deadline = started_ + timeout_;
    if (std::chrono::steady_clock::now() < deadline) {
      wake_.wait_until(lock, deadline);
      continue;  // re-check: disarmed, re-armed or due
    }
    Job job = *job_;
    double ran_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    std::string reason = job_timeout_reason(timeout_, ran_s);
    lock.unlock();
    spdlog::error("job {}/{}/{} attempt {}: {}; this worker exits ({}) to be restarted",
                  job.key.run, job.key.study, job.key.trial, job.attempt, reason, kExitJobTimeout);
    if (on_timeout_) on_timeout_(job, reason);
    spdlog::default_logger()->flush();
    _exit(kExitJobTimeout);  // the stuck thread cannot be joined; no destructors
  }
}

void report_timeout(const config::Config& config, const std::string& worker, const Job& job,
                    const std::string& reason) {
  JobResult result = failed_result(job, reason);
  result.worker = worker;
  zmq::context_t context(1);
  {
    auto sender = bus::ResultSender::connect(context, config.bus, bus::self_source("worker"));
    if (!sender || !sender->send(result, std::chrono::seconds(2))) {
      spdlog::error("the timeout of job {}/{}/{} could not be reported; its lease will expire",
                    job.key.run, job.key.study, job.key.trial);
    }
  }  // the socket closes here; closing the context waits (up to linger) for it to drain
  context.close();
}

}  // namespace nightshift::trainer
