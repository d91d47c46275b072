#include "stages/scheduler/worker_slots.h"

namespace nightshift::scheduler {

void WorkerSlots::heard(const Heartbeat& heartbeat, std::chrono::steady_clock::time_point now) {
  Worker& worker = workers_[heartbeat.host + "/" + heartbeat.worker_id];
  worker.slots_total = heartbeat.slots_total;
  worker.last_heard = now;
}

uint64_t WorkerSlots::capacity(std::chrono::steady_clock::time_point now) const {
  uint64_t slots = 0;
  for (const auto& [id, worker] : workers_) {
    if (now - worker.last_heard <= freshness_) slots += worker.slots_total;
  }
  return slots;
}

uint64_t WorkerSlots::live_workers(std::chrono::steady_clock::time_point now) const {
  uint64_t live = 0;
  for (const auto& [id, worker] : workers_) live += now - worker.last_heard <= freshness_;
  return live;
}

}  // namespace nightshift::scheduler
