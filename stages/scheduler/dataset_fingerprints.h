// DatasetFingerprints: what the result cache needs to know of each dataset
// of the plan before a job of it goes out: the fingerprint the dataset
// service computes over its bars. A thread of its own asks the service for
// each dataset in plan order with `fingerprint_only` (broker/dataset_client.h),
// so no bars cross the bus and the scheduler's loop never waits on the
// service; a dataset's jobs wait only until its own answer is in. A dataset
// the service cannot give (an unknown symbol, a source that fails) is
// marked failed: its jobs go to workers without a lookup, and fail there
// with the real reason as before.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "schema/data_messages.h"
#include "schema/job_messages.h"

namespace nightshift::scheduler {

class DatasetFingerprints {
 public:
  enum class State { waiting, known, failed };
  struct Answer {
    State state = State::waiting;
    std::string fingerprint;
  };

  // Starts asking for every dataset of `requests` (in order, duplicates once).
  DatasetFingerprints(zmq::context_t& context, const config::Config& config,
                      std::vector<DatasetRequest> requests);
  ~DatasetFingerprints();
  DatasetFingerprints(const DatasetFingerprints&) = delete;
  DatasetFingerprints& operator=(const DatasetFingerprints&) = delete;

  // What is known of `job`'s dataset now.
  Answer of(const Job& job);

  static DatasetRequest request_of(const Job& job);

 private:
  void loop(zmq::context_t& context, const config::Config& config);

  std::vector<DatasetRequest> requests_;
  std::mutex mutex_;
  std::map<std::string, Answer> answers_;  // dataset::request_key -> answer
  std::chrono::milliseconds budget_{0};  // fetcher.dataset_timeout_ms x dataset_attempts
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace nightshift::scheduler
