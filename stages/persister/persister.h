// The persister stage: the only writer of the results database. It pulls
// results and scheduler checkpoints from the results pipeline, hears events
// (job.*, run.*, alert.*, telemetry.*, data.*) for the event log, commits
// them in batched transactions, and only after COMMIT publishes
// job.persisted.<run> for each result, so the scheduler can mark it done.
//
// Three threads, one job each. Intake (the thread that calls run()) drains
// whatever is queued with non-blocking receives (a poll only when both
// sockets are empty: a burst costs one wake-up, not one per message), decodes
// it, and hands the batch over once it is due: full, or its oldest message
// has waited PersisterTuning::commit.max_delay. The writer (a thread run()
// starts and joins) owns the database and the publisher: it commits each
// batch in one transaction, then announces. While the writer commits one
// batch, intake gathers the next; decoding and SQLite no longer take turns.
// The third (WalCheckpointer) copies the write-ahead log into the database
// file, work SQLite would otherwise do inside the writer's commits.
//
// Nothing is stored on a message's word: results and checkpoints pass the
// checks of stages/persister/result_guard.h first (content on intake, plan and
// dispatch token on the writer); a refused one is counted, logged with the
// worker it names (rate-limited) and dropped, never announced.
//
// When a commit fails (disk full, I/O error, database locked) the writer says
// so loudly: its log, an alert.critical (firing, repeated while it lasts,
// then resolved) and its alive event, which the supervisor prints on the
// run's output and `health`/`status` report. It keeps the batch and retries
// until it succeeds; what was committed before stays committed. Intake fills one more batch, then stops
// pulling until the writer takes it (the broker queues the rest).
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "broker/bus.h"
#include "config/config.h"
#include "schema/results_store.h"
#include "stages/persister/batch_writer.h"
#include "stages/persister/wal_checkpointer.h"

namespace nightshift::persister {

struct PersisterStats {
  uint64_t results = 0;     // result messages committed (ok and failed)
  uint64_t new_rows = 0;    // results that created their row
  uint64_t duplicates = 0;  // redeliveries that found their row already there
  uint64_t checkpoints = 0;
  uint64_t events = 0;
  uint64_t commits = 0;
  uint64_t commit_failures = 0;
  uint64_t refused = 0;  // results and checkpoints not stored (stages/persister/result_guard.h)
};

struct PersisterTuning {
  // A batch commits when full or when its oldest message has waited this long.
  CommitPolicy commit{2000, std::chrono::milliseconds(20)};
  std::chrono::milliseconds retry_interval{1000};
};

class Persister {
 public:
  // With `run`, results and checkpoints of any other run are refused.
  static Result<std::unique_ptr<Persister>> start(zmq::context_t& context,
                                                  const config::Config& config,
                                                  PersisterTuning tuning = {},
                                                  const std::string& run = "");

  // Runs until `stop()` says so, then commits what it holds. Read stats()
  // only after run() has returned.
  void run(const std::function<bool()>& stop);
  const PersisterStats& stats() const { return stats_; }
  // Refused so far, on both threads; readable at any time.
  uint64_t refused() const { return refused_.load(); }

 private:
  Persister(const config::Config& config, PersisterTuning tuning, const std::string& run,
            ResultsStore store,
            std::unique_ptr<WalCheckpointer> checkpointer, bus::ResultsPipelineReceiver results,
            bus::Subscriber events, bus::Publisher publisher);

  // Intake thread.
  void collect(std::chrono::milliseconds max_wait);
  void drain();
  bool wait_for_input(std::chrono::steady_clock::time_point until);
  void take_event(bus::Envelope envelope);
  void take_result(JobResult result);
  void refuse(const Refusal& refusal, RateLimitedLog& log);
  bool hand_over(std::chrono::milliseconds max_wait);

  // Writer thread.
  void write_batches();
  bool flush();
  void announce(CommitOutcome& outcome);
  void housekeeping();
  void clean_result_cache();
  std::size_t results_held();
  void publish_stall(bool firing);

  config::Config config_;
  PersisterTuning tuning_;
  std::string run_;        // the one run served (empty: any)
  std::string run_topic_;  // run_ as a topic segment
  // Intake's own.
  bus::ResultsPipelineReceiver results_;
  bus::Subscriber events_;
  Batch intake_;
  RateLimitedLog intake_refusal_log_{std::chrono::seconds(5)};
  // The writer's own.
  ResultsStore store_;
  std::unique_ptr<WalCheckpointer> checkpointer_;  // copies store_'s log back on its own thread
  ResultGuard guard_;
  BatchWriter batch_;
  RateLimitedLog refusal_log_{std::chrono::seconds(5)};
  bus::Publisher publisher_;
  PersisterStats stats_;
  RateLimitedLog io_error_log_{std::chrono::seconds(10)};
  std::chrono::steady_clock::time_point next_retry_{};
  std::chrono::steady_clock::time_point next_housekeeping_{};
  std::chrono::steady_clock::time_point next_stall_alert_{};
  std::string stall_problem_;  // "persister cannot commit: disk full (N results waiting)"
  // Between the two: one handed-over batch waiting for the writer, and the
  // last committed one on its way back to intake.
  std::mutex mutex_;
  std::condition_variable handed_cv_;  // a batch was handed over, or intake is closing
  std::condition_variable taken_cv_;   // the writer took the handed batch
  Batch handed_;
  Batch spent_;
  bool closing_ = false;
  std::atomic<bool> stalled_{false};  // the writer's last commit failed
  std::atomic<uint64_t> refused_{0};
};

}  // namespace nightshift::persister
