#include "stages/scheduler/dataset_fingerprints.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "broker/bus.h"
#include "broker/dataset_client.h"
#include "broker/dataset_protocol.h"

namespace nightshift::scheduler {

DatasetRequest DatasetFingerprints::request_of(const Job& job) {
  DatasetRequest request;
  request.source = job.source;
  request.symbol = job.symbol;
  request.timeframe = job.timeframe;
  request.start_ts = job.start_ts;
  request.end_ts = job.end_ts;
  return request;
}

DatasetFingerprints::DatasetFingerprints(zmq::context_t& context, const config::Config& config,
                                         std::vector<DatasetRequest> requests) {
  std::set<std::string> seen;
  for (auto& request : requests) {
    if (seen.insert(dataset::request_key(request)).second) requests_.push_back(std::move(request));
  }
  // Short attempts, repeated here up to the configured total, so that a stop
  // waits for one attempt at most, never for a cold fetch.
  config::Config quick = config;
  quick.fetcher.dataset_timeout_ms = std::min(config.fetcher.dataset_timeout_ms, 1000);
  quick.fetcher.dataset_attempts = 1;
  budget_ = std::chrono::milliseconds(int64_t{config.fetcher.dataset_timeout_ms} *
                                      config.fetcher.dataset_attempts);
  thread_ = std::thread([this, &context, quick] { loop(context, quick); });
}

DatasetFingerprints::~DatasetFingerprints() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

DatasetFingerprints::Answer DatasetFingerprints::of(const Job& job) {
  std::lock_guard lock(mutex_);
  auto found = answers_.find(dataset::request_key(request_of(job)));
  return found == answers_.end() ? Answer{} : found->second;
}

void DatasetFingerprints::loop(zmq::context_t& context, const config::Config& config) {
  pthread_setname_np(pthread_self(), "sched-datasets");
  DatasetClient client(context, config, bus::self_source("scheduler"));
  for (const DatasetRequest& request : requests_) {
    if (stopping_) return;
    const auto give_up = std::chrono::steady_clock::now() + budget_;
    auto fingerprint = client.fingerprint(request);
    while (!fingerprint && !stopping_ && std::chrono::steady_clock::now() < give_up &&
           fingerprint.error().find("dataset service:") != 0) {  // no answer yet: ask again
      fingerprint = client.fingerprint(request);
    }
    if (stopping_) return;
    Answer answer;
    if (fingerprint) {
      answer = Answer{State::known, std::move(*fingerprint)};
    } else {
      spdlog::warn("result cache: no fingerprint for {} {} {}: {}; its jobs go to workers unlooked",
                   request.source, request.symbol, request.timeframe, fingerprint.error());
      answer.state = State::failed;
    }
    std::lock_guard lock(mutex_);
    answers_[dataset::request_key(request)] = std::move(answer);
  }
}

}  // namespace nightshift::scheduler
