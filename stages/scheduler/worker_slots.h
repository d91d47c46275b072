// WorkerSlots: the training capacity announced in worker heartbeats. The
// scheduler sends a job only while the jobs it has in flight are fewer than
// the slots of the workers heard from recently, so no worker hoards a
// backlog and a dead worker stops counting once its heartbeats stop.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "schema/job_messages.h"

namespace nightshift::scheduler {

class WorkerSlots {
 public:
  explicit WorkerSlots(std::chrono::milliseconds freshness) : freshness_(freshness) {}

  void heard(const Heartbeat& heartbeat, std::chrono::steady_clock::time_point now);
  // Slots of the workers heard from within `freshness` of `now`.
  uint64_t capacity(std::chrono::steady_clock::time_point now) const;
  uint64_t live_workers(std::chrono::steady_clock::time_point now) const;

 private:
  struct Worker {
    uint32_t slots_total = 0;
    std::chrono::steady_clock::time_point last_heard{};
  };
  std::chrono::milliseconds freshness_;
  std::map<std::string, Worker> workers_;
};

}  // namespace nightshift::scheduler
