// WorkerSlots: credits from heartbeats. A busy slot earns no job; a free
// slot earns one job until its worker shows a change or the hold passes.
#include "stages/scheduler/worker_slots.h"

#include <gtest/gtest.h>

namespace nightshift::scheduler {
namespace {

using namespace std::chrono_literals;
using TimePoint = WorkerSlots::TimePoint;

Heartbeat beat(const std::string& id, uint32_t free, uint64_t done = 0,
               std::optional<int64_t> trial = std::nullopt) {
  Heartbeat h;
  h.host = "h";
  h.worker_id = id;
  h.slots_total = 1;
  h.slots_free = free;
  h.jobs_done = done;
  if (trial) h.current_job = JobKey{"r", "S", *trial};
  return h;
}

TEST(WorkerSlots, ABusySlotIsGivenNoJob) {
  WorkerSlots slots(3s, 1s);
  TimePoint t0{};
  slots.heard(beat("1", 0, 0, 7), t0);  // running trial 7 (or stuck on its dataset)
  EXPECT_EQ(slots.capacity(t0), 1u);
  EXPECT_EQ(slots.free_slots(t0), 0u);
  EXPECT_FALSE(slots.take(t0));
  // Still busy long after the hold: a busy slot never earns a job by time alone.
  slots.heard(beat("1", 0, 0, 7), t0 + 5s);
  EXPECT_FALSE(slots.take(t0 + 5s));
}

TEST(WorkerSlots, OnlyTheFreeWorkerEarnsAJob) {
  WorkerSlots slots(3s, 1s);
  TimePoint t0{};
  slots.heard(beat("busy", 0, 3, 1), t0);
  slots.heard(beat("free", 1, 2), t0);
  auto credit = slots.take(t0);
  ASSERT_TRUE(credit);
  EXPECT_EQ(*credit, "h/free");
  EXPECT_FALSE(slots.take(t0)) << "one free slot, one job";
}

TEST(WorkerSlots, ASpentCreditComesBackWhenTheWorkerShowsAChange) {
  WorkerSlots slots(3s, 1s);
  TimePoint t0{};
  slots.heard(beat("1", 1, 0), t0);
  ASSERT_TRUE(slots.take(t0));
  // A beat that repeats the old state may predate our job: no new credit.
  slots.heard(beat("1", 1, 0), t0 + 100ms);
  EXPECT_FALSE(slots.take(t0 + 100ms));
  slots.heard(beat("1", 0, 0, 4), t0 + 200ms);  // it took the job
  EXPECT_FALSE(slots.take(t0 + 200ms));
  slots.heard(beat("1", 1, 1), t0 + 400ms);  // and finished it
  EXPECT_TRUE(slots.take(t0 + 400ms));
}

TEST(WorkerSlots, ACreditWhoseJobWentElsewhereReturnsAfterTheHold) {
  WorkerSlots slots(3s, 1s);
  TimePoint t0{};
  slots.heard(beat("1", 1, 0), t0);
  ASSERT_TRUE(slots.take(t0));
  slots.heard(beat("1", 1, 0), t0 + 900ms);
  EXPECT_FALSE(slots.take(t0 + 900ms));
  EXPECT_TRUE(slots.take(t0 + 1100ms));
}

TEST(WorkerSlots, AGivenBackCreditCanBeSpentAgain) {
  WorkerSlots slots(3s, 1s);
  TimePoint t0{};
  slots.heard(beat("1", 1, 0), t0);
  auto credit = slots.take(t0);
  ASSERT_TRUE(credit);
  slots.give_back(*credit);
  EXPECT_TRUE(slots.take(t0));
}

TEST(WorkerSlots, AWorkerNotHeardFromStopsCounting) {
  WorkerSlots slots(3s, 1s);
  TimePoint t0{};
  slots.heard(beat("1", 1, 0), t0);
  EXPECT_EQ(slots.live_workers(t0 + 2s), 1u);
  EXPECT_EQ(slots.live_workers(t0 + 4s), 0u);
  EXPECT_EQ(slots.capacity(t0 + 4s), 0u);
  EXPECT_FALSE(slots.take(t0 + 4s));
}

}  // namespace
}  // namespace nightshift::scheduler
