// The scheduler stage: plans a run (or rebuilds it from the results database
// for `resume`), records the plan and the run's dispatch key through the
// persister before it sends anything, sends each job against a free worker
// slot with a lease and the attempt's dispatch token, marks it done when the
// database holds its row (job.persisted is the prompt to look), retries on a
// failed result or an expired lease, skips after max_attempts, and
// checkpoints its state through the persister (the only writer).
//
// On stop (SIGINT/SIGTERM) it sends nothing new, lets running jobs finish up
// to scheduler.grace_s, checkpoints the run as "interrupted" and returns.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/log.h"
#include "broker/bus.h"
#include "config/config.h"
#include "schema/dispatch_token.h"
#include "schema/results_store.h"
#include "stages/scheduler/budget.h"
#include "stages/scheduler/job_board.h"
#include "stages/scheduler/result_cache_lookup.h"
#include "stages/scheduler/worker_slots.h"

namespace nightshift::scheduler {

struct SchedulerOptions {
  std::string run;      // run id; required
  bool resume = false;  // continue a stored run instead of planning a new one
  // When set (by `nightshift run`): the supervisor's pid. Once it is no
  // longer this process's parent the scheduler exits at once, without the
  // drain a SIGTERM gets, so it never overlaps a `resume` of the same run.
  int supervisor_pid = 0;
  // `nightshift rerun`: a new run planned from the stored config and pinned
  // to this stored run (its datasets, TPE params, set of jobs; rerun_plan.h).
  std::string rerun_of = {};
};

enum class RunOutcome { completed, interrupted, failed };

class Scheduler {
 public:
  static Result<std::unique_ptr<Scheduler>> start(zmq::context_t& context,
                                                  const config::Config& config,
                                                  const SchedulerOptions& options);
  RunOutcome run(const std::function<bool()>& stop);
  BoardCounts counts() const { return board_.counts(); }

 private:
  Scheduler(const config::Config& config, std::string run, RunCheckpoint initial,
            bus::JobSender jobs, bus::CheckpointSender checkpoints, bus::Subscriber events,
            bus::Publisher publisher);

  void hear(std::chrono::milliseconds wait);
  void on_event(const bus::Envelope& envelope);
  void look_up(const PersistedResult& event);
  bool plan_recorded();
  void dispatch();
  void suggest(JobState& state);
  std::optional<PruneThresholds> prune_thresholds(const Job& job);
  bool answer_from_cache(JobState& state, const std::string& fingerprint);
  void expire_leases();
  void release_finals();
  void reconcile_with_database();
  void publish_progress(bool force);
  void alert_on_failures(bool run_over);
  void maybe_checkpoint();
  bool send_checkpoint(RunStatus status);
  bool confirm_checkpoint(RunStatus status, std::chrono::seconds timeout);
  void drain_running(std::chrono::seconds grace);
  ResultsStore* store();

  config::Config config_;
  std::string run_;
  int64_t started_ns_ = 0;
  std::string dispatch_key_;  // schema/dispatch_token.h; recorded with the plan
  DispatchSigner signer_;     // tokens under dispatch_key_
  SearchBudget budget_;       // study_timeout_s and deadline
  bool plan_recorded_ = false;
  RateLimitedLog unbacked_log_{std::chrono::seconds(5)};
  JobBoard board_;
  WorkerSlots slots_;
  bus::JobSender jobs_;
  bus::CheckpointSender checkpoints_;
  bus::Subscriber events_;
  bus::Publisher publisher_;
  std::optional<ResultsStore> store_;
  // The result cache (docs/cache.md; null when cache.enabled is false), and
  // how its hits go out: results on the results pipeline, with the token.
  std::unique_ptr<ResultCacheLookup> cache_;
  std::optional<bus::ResultSender> hits_;
  uint64_t jobs_sent_ = 0;  // to workers
  bool dirty_ = false;
  bool failure_alert_firing_ = false;
  // What the persister's alive events last said of its commits ("" while
  // they succeed): why a final checkpoint cannot be confirmed.
  std::string persister_problem_;
  uint64_t done_at_start_ = 0;
  Clock::time_point began_ = Clock::now();
  Clock::time_point next_progress_{};
  Clock::time_point next_checkpoint_{};
  Clock::time_point next_dirty_checkpoint_{};
  Clock::time_point next_reconcile_{};
};

}  // namespace nightshift::scheduler
