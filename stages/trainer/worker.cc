#include "stages/trainer/worker.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>
#include <new>
#include <vector>

#include "broker/bus.h"
#include "broker/control_client.h"
#include "broker/dataset_client.h"
#include "base/log.h"
#include "base/process.h"
#include "schema/names.h"
#include "schema/topics.h"
#include "stages/trainer/heartbeat_loop.h"
#include "stages/trainer/job_runner.h"
#include "stages/trainer/job_watchdog.h"
#include "stages/trainer/memory_probe.h"
#include "stages/trainer/process_resources.h"

namespace nightshift::trainer {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(200);
constexpr auto kResultSendTimeout = std::chrono::seconds(5);

uint64_t cap_bytes(const config::Config& config) {
  return static_cast<uint64_t>(config.max_memory_per_process * static_cast<double>(1ull << 30));
}

class Worker {
 public:
  Worker(const config::Config& config, const WorkerOptions& options, zmq::context_t& context,
         bus::JobReceiver jobs, bus::ResultSender results, bus::Publisher events)
      : config_(config),
        options_(options),
        name_(host_name() + "/" + options.worker_id),
        jobs_(std::move(jobs)),
        results_(std::move(results)),
        datasets_(context, config, bus::self_source("worker")),
        heartbeat_(std::move(events), initial_heartbeat(options), options.heartbeat_interval),
        cache_(options.feature_cache_bytes),
        watchdog_(std::chrono::seconds(config.scheduler.job_timeout_s),
                  [this](const Job& job, const std::string& reason) {
                    report_timeout(config_, name_, job, reason);
                  }) {}

  int run() {
    while (!stop_requested()) {
      auto message = jobs_.receive(kPollInterval);
      if (!message) continue;
      if (auto why = refusal(message->payload); !why.empty()) {
        refused_log_.warn("refused a job from " + message->header.src.host + "/" +
                          message->header.src.stage + ": " + why);
        continue;
      }
      int exit_code = handle(message->payload);
      if (exit_code >= 0) return exit_code;
      if (options_.max_jobs > 0 && done_ >= options_.max_jobs) return 0;
    }
    spdlog::info("worker {} stopping (signal {}) after {} jobs", name_, stop_signal(), done_);
    return 0;
  }

 private:
  static Heartbeat initial_heartbeat(const WorkerOptions& options) {
    Heartbeat h;
    h.host = host_name();
    h.worker_id = options.worker_id;
    return h;
  }

  // Why a job must not run ("" when it may): its names would reach file
  // paths and rows; a worker the supervisor started for one run (--run)
  // knows every other run is unknown; and a job without a dispatch token was
  // not sent by a scheduler, so its result could never be stored anyway.
  // Nothing is sent back for a refused job.
  std::string refusal(const Job& job) const {
    if (auto why = name_problem("run", job.key.run); !why.empty()) return why;
    if (!options_.run.empty() && job.key.run != options_.run) {
      return "job of run " + job.key.run + ", not of this worker's run " + options_.run;
    }
    if (auto why = name_problem("study", job.key.study); !why.empty()) return why;
    if (auto why = name_problem("symbol", job.symbol); !why.empty()) return why;
    if (!job.dispatch_token) {
      return "job " + job.key.run + "/" + job.key.study + "/" + std::to_string(job.key.trial) +
             " has no dispatch token";
    }
    return "";
  }

  // Runs one job and reports it. Returns an exit code, or -1 to carry on.
  int handle(const Job& job) {
    heartbeat_.set_current_job(job.key, done_);
    heartbeat_.publish_job_event(topics::job(wire_text(JobStep::started), job.key.run),
                                 JobEvent{job.key, JobStep::started, job.attempt, "", name_});
    reset_peak_rss();
    watchdog_.arm(job);
    auto wall_start = std::chrono::steady_clock::now();
    double cpu_start = process_cpu_seconds();
    bool memory_limit = false;
    JobResult result;
    try {
      result = execute(job);
    } catch (const std::bad_alloc&) {
      memory_limit = true;
      result = failed_result(job, "memory limit");
    }
    result.worker = name_;
    result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    result.cpu_s = process_cpu_seconds() - cpu_start;
    result.peak_rss_bytes = peak_rss_bytes();
    report(job, result);
    watchdog_.disarm();
    return exit_code_after_job(memory_limit);
  }

  JobResult execute(const Job& job) {
    auto scratch = apply_memory_probe(job.memory_probe);
    DatasetRequest request;
    request.source = job.source.empty() ? config_.fetcher.source : job.source;
    request.symbol = job.symbol;
    request.timeframe = job.timeframe;
    request.start_ts = job.start_ts;
    request.end_ts = job.end_ts;
    auto dataset = datasets_.request(request);
    if (!dataset) return failed_result(job, "dataset: " + dataset.error());
    JobResult result = run_job(job, dataset->fingerprint, *dataset->bars, cache_, config_);
    if (dataset->bars->size() > 0) {
      result.data_first_ts = dataset->bars->ts.front();
      result.data_last_ts = dataset->bars->ts.back();
    }
    return result;
  }

  void report(const Job& job, const JobResult& result) {
    if (!results_.send(result, kResultSendTimeout)) {
      spdlog::error("job {}/{}/{}: result not accepted by the broker in 5 s", job.key.run,
                    job.key.study, job.key.trial);
    }
    ++done_;
    heartbeat_.set_current_job(std::nullopt, done_);
    spdlog::info("job {}/{}/{} {} {}: {}{} in {:.2f} s, peak RSS {} MB", job.key.run, job.key.study,
                 job.key.trial, wire_text(job.kind), job.model, wire_text(result.status),
                 result.reason.empty() ? "" : " (" + result.reason + ")", result.wall_s,
                 result.peak_rss_bytes >> 20);
  }

  int exit_code_after_job(bool memory_limit) {
    if (memory_limit) {
      spdlog::warn("worker {}: a job hit the memory cap; exiting ({}) to be restarted", name_,
                   kExitMemoryLimit);
      return kExitMemoryLimit;
    }
    auto threshold = static_cast<uint64_t>(config_.memory_threshold * static_cast<double>(cap_bytes(config_)));
    uint64_t rss = current_rss_bytes();
    if (rss > threshold) {
      spdlog::warn("worker {}: RSS {} MB above the soft threshold {} MB; restarting cleanly ({})",
                   name_, rss >> 20, threshold >> 20, kExitRestart);
      return kExitRestart;
    }
    return -1;
  }

  const config::Config& config_;
  const WorkerOptions& options_;
  std::string name_;
  bus::JobReceiver jobs_;
  bus::ResultSender results_;
  DatasetClient datasets_;
  HeartbeatLoop heartbeat_;
  FeatureCache cache_;
  RateLimitedLog refused_log_{std::chrono::seconds(5)};
  JobWatchdog watchdog_;  // last: its thread may call report_timeout with the members above
  uint64_t done_ = 0;
};

}  // namespace

int run_worker(const config::Config& config, const WorkerOptions& options) {
  if (auto capped = apply_memory_cap(cap_bytes(config)); !capped) {
    spdlog::error("worker: {}", capped.error());
    return 1;
  }
  zmq::context_t context(1);
  // A worker on another host pointed at a broker that is not there would
  // otherwise wait for jobs forever without a word.
  if (auto reachable = bus::probe_broker(context, config.bus, bus::kStageBrokerWait); !reachable) {
    std::cerr << "nightshift worker: " << reachable.error() << "\n";
    return 1;
  }
  Source self = bus::self_source("worker");
  auto jobs = bus::JobReceiver::connect(context, config.bus);
  auto results = bus::ResultSender::connect(context, config.bus, self);
  auto events = bus::Publisher::connect(context, config.bus, self);
  for (const std::string* error : {jobs ? nullptr : &jobs.error(), results ? nullptr : &results.error(),
                                   events ? nullptr : &events.error()}) {
    if (error != nullptr) {
      spdlog::error("worker: {}", *error);
      return 1;
    }
  }
  spdlog::info("worker {} up: jobs from {}, results to {}, datasets from {}, memory cap {:.2f} GB",
               options.worker_id, config.bus.jobs_out, config.bus.results_in,
               config.fetcher.dataset_endpoint, config.max_memory_per_process);
  Worker worker(config, options, context, std::move(*jobs), std::move(*results), std::move(*events));
  return worker.run();
}

}  // namespace nightshift::trainer
