// The persister stage: the only writer of the results database. It pulls
// results and scheduler checkpoints from the results pipeline, hears events
// (job.*, run.*, alert.*, telemetry.*, data.*) for the event log, commits
// them in batched transactions, and only after COMMIT publishes
// job.persisted.<run> for each result, so the scheduler can mark it done.
//
// When a commit fails (disk full, I/O error, database locked) it stops
// pulling, says so loudly, keeps the batch and retries until it succeeds;
// what was committed before stays committed.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "broker/bus.h"
#include "config/config.h"
#include "schema/results_store.h"
#include "stages/persister/batch_writer.h"

namespace nightshift::persister {

struct PersisterStats {
  uint64_t results = 0;     // result messages committed (ok and failed)
  uint64_t new_rows = 0;    // results that created their row
  uint64_t duplicates = 0;  // redeliveries that found their row already there
  uint64_t checkpoints = 0;
  uint64_t events = 0;
  uint64_t commits = 0;
  uint64_t commit_failures = 0;
};

struct PersisterTuning {
  std::size_t max_batch = 2000;
  std::chrono::milliseconds max_batch_delay{20};  // commit at least this often
  std::chrono::milliseconds retry_interval{1000};
};

class Persister {
 public:
  static Result<std::unique_ptr<Persister>> start(zmq::context_t& context,
                                                  const config::Config& config,
                                                  PersisterTuning tuning = {});

  // Runs until `stop()` says so, then commits what it holds.
  void run(const std::function<bool()>& stop);
  const PersisterStats& stats() const { return stats_; }

 private:
  Persister(const config::Config& config, PersisterTuning tuning, ResultsStore store,
            bus::ResultReceiver results, bus::Subscriber events, bus::Publisher publisher);
  void collect(std::chrono::milliseconds wait);
  void take_result_frame(const bus::RawFrame& raw);
  void take_event(bus::Envelope envelope);
  bool flush();
  void announce(const CommitOutcome& outcome);
  void housekeeping();

  config::Config config_;
  PersisterTuning tuning_;
  ResultsStore store_;
  BatchWriter batch_;
  bus::ResultReceiver results_;
  bus::Subscriber events_;
  bus::Publisher publisher_;
  PersisterStats stats_;
  RateLimitedLog bad_input_log_;
  RateLimitedLog io_error_log_{std::chrono::seconds(10)};
  bool stalled_ = false;
  std::chrono::steady_clock::time_point next_retry_{};
  std::chrono::steady_clock::time_point next_housekeeping_{};
};

}  // namespace nightshift::persister
