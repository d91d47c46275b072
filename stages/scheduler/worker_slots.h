// WorkerSlots: the training capacity announced in worker heartbeats, as
// credits. A heartbeat says how many of a worker's slots are free
// (`slots_free`) and what it runs; the scheduler sends a job only against a
// free slot that no job sent since has used (take()), so a worker whose slot
// is busy — training, or stuck waiting on a dataset — earns no new jobs, and
// a dead worker stops counting once its heartbeats stop.
//
// The broker hands a job to whichever worker connection asked for one
// (broker/job_credit.h), not necessarily the worker whose credit paid for
// it, so a credit is spent until that worker's next
// heartbeat that shows a change (a job started or finished), or until
// `hold` passes without one (the job went to another worker, whose own
// heartbeat shows it busy). A busy worker's credits never come back from
// that timer: only a heartbeat announcing a free slot restores them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "schema/job_messages.h"

namespace nightshift::scheduler {

class WorkerSlots {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  WorkerSlots(std::chrono::milliseconds freshness, std::chrono::milliseconds hold)
      : freshness_(freshness), hold_(hold) {}

  void heard(const Heartbeat& heartbeat, TimePoint now);
  // Spends one free slot's credit; the worker whose credit it was, or
  // nullopt when no live worker has a free slot left.
  std::optional<std::string> take(TimePoint now);
  // Gives back a credit that take() handed out for a job that was not sent.
  void give_back(const std::string& worker);

  // Free slots not yet spent, of the workers heard from within `freshness`.
  uint64_t free_slots(TimePoint now) const;
  // All slots of those workers, busy or free.
  uint64_t capacity(TimePoint now) const;
  uint64_t live_workers(TimePoint now) const;

 private:
  struct Worker {
    uint32_t slots_total = 0;
    uint32_t slots_free = 0;
    uint64_t jobs_done = 0;
    std::string current_job;   // "run/study/trial", empty when idle
    TimePoint last_heard{};
    uint32_t spent = 0;        // credits spent since the last change it announced
    TimePoint spent_at{};
  };
  bool fresh(const Worker& worker, TimePoint now) const {
    return now - worker.last_heard <= freshness_;
  }
  uint32_t available(const Worker& worker, TimePoint now) const;

  std::chrono::milliseconds freshness_;
  std::chrono::milliseconds hold_;
  std::map<std::string, Worker> workers_;
};

}  // namespace nightshift::scheduler
