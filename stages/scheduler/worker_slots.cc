#include "stages/scheduler/worker_slots.h"

#include <algorithm>

namespace nightshift::scheduler {

void WorkerSlots::heard(const Heartbeat& heartbeat, TimePoint now) {
  Worker& worker = workers_[heartbeat.host + "/" + heartbeat.worker_id];
  const JobKey* key = heartbeat.current_job ? &*heartbeat.current_job : nullptr;
  std::string current =
      key ? key->run + "/" + key->study + "/" + std::to_string(key->trial) : std::string();
  bool changed = worker.jobs_done != heartbeat.jobs_done ||
                 worker.current_job != current ||
                 worker.slots_free != heartbeat.slots_free;
  worker.slots_total = heartbeat.slots_total;
  worker.slots_free = std::min(heartbeat.slots_free, heartbeat.slots_total);
  worker.jobs_done = heartbeat.jobs_done;
  worker.current_job = std::move(current);
  worker.last_heard = now;
  // A beat that repeats the last state may have left before our job
  // arrived: it says nothing about the credits spent since.
  if (changed) worker.spent = 0;
}

uint32_t WorkerSlots::available(const Worker& worker, TimePoint now) const {
  if (!fresh(worker, now)) return 0;
  uint32_t spent = now - worker.spent_at >= hold_ ? 0 : worker.spent;
  return worker.slots_free > spent ? worker.slots_free - spent : 0;
}

std::optional<std::string> WorkerSlots::take(TimePoint now) {
  // The worker whose credit was spent longest ago: credits spread over all.
  Worker* best = nullptr;
  const std::string* best_id = nullptr;
  for (auto& [id, worker] : workers_) {
    if (available(worker, now) == 0) continue;
    if (best == nullptr || worker.spent_at < best->spent_at) {
      best = &worker;
      best_id = &id;
    }
  }
  if (best == nullptr) return std::nullopt;
  if (now - best->spent_at >= hold_) best->spent = 0;
  ++best->spent;
  best->spent_at = now;
  return *best_id;
}

void WorkerSlots::give_back(const std::string& id) {
  auto it = workers_.find(id);
  if (it != workers_.end() && it->second.spent > 0) --it->second.spent;
}

uint64_t WorkerSlots::free_slots(TimePoint now) const {
  uint64_t slots = 0;
  for (const auto& [id, worker] : workers_) slots += available(worker, now);
  return slots;
}

uint64_t WorkerSlots::capacity(TimePoint now) const {
  uint64_t slots = 0;
  for (const auto& [id, worker] : workers_) {
    if (fresh(worker, now)) slots += worker.slots_total;
  }
  return slots;
}

uint64_t WorkerSlots::live_workers(TimePoint now) const {
  uint64_t live = 0;
  for (const auto& [id, worker] : workers_) live += fresh(worker, now);
  return live;
}

}  // namespace nightshift::scheduler
