// plan_for_machine (`nightshift config optimize`): the figures worked out by
// hand from its contract (config_editor.h), not from its code: workers =
// cores - 1 (at least 1); memory = 80 % of RAM over workers + 2, rounded
// down to a tenth of a GB, at least 0.1 and at most 8.
#include "config/config_editor.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace nightshift::config {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;

struct Machine {
  int cores;
  uint64_t ram_bytes;
  int workers;
  double memory_gb;
  const char* why;
};

const Machine kMachines[] = {
    {8, 16 * kGiB, 7, 1.4, "0.8 * 16 / 9 = 1.42"},
    {2, 4 * kGiB, 1, 1.0, "0.8 * 4 / 3 = 1.07"},
    {1, 2 * kGiB, 1, 0.5, "one core still runs one worker; 0.8 * 2 / 3 = 0.53"},
    {0, 2 * kGiB, 1, 0.5, "no core count (sysconf failed): one worker"},
    {-1, 2 * kGiB, 1, 0.5, "sysconf's -1: one worker"},
    {4, 9 * kGiB + 3 * kGiB / 10, 3, 1.4, "0.8 * 9.3 / 5 = 1.488: down, not to the nearest"},
    {2, 20 * kGiB + kGiB / 4, 1, 5.4, "0.8 * 20.25 / 3 = 5.4 exactly"},
    {33, 46 * kGiB + 3 * kGiB / 4, 32, 1.1, "0.8 * 46.75 / 34 = 1.1 exactly"},
    {4, 5 * kGiB / 4, 3, 0.2, "0.8 * 1.25 / 5 = 0.2 exactly"},
    {4, 5 * kGiB / 4 - 1, 3, 0.1, "a byte less than 0.2 rounds down to 0.1"},
    {16, 1 * kGiB, 15, 0.1, "0.8 / 17 = 0.047: the 0.1 floor"},
    {4, 50 * kGiB, 3, 8.0, "0.8 * 50 / 5 = 8 exactly: the cap itself"},
    {4, 51 * kGiB, 3, 8.0, "0.8 * 51 / 5 = 8.16: capped at 8"},
    {64, 1024 * kGiB, 63, 8.0, "0.8 * 1024 / 65 = 12.6: capped at 8"},
    {128, 512 * kGiB, 127, 3.1, "0.8 * 512 / 129 = 3.175"},
};

TEST(PlanForMachine, WorkersAndMemoryFromCoresAndRam) {
  for (const auto& m : kMachines) {
    MachinePlan plan = plan_for_machine(m.cores, m.ram_bytes);
    EXPECT_EQ(plan.workers, m.workers) << m.cores << " cores: " << m.why;
    // Tenths are what the file gets: equal to the tenth, not merely close.
    EXPECT_EQ(plan.memory_per_process_gb, m.memory_gb) << m.cores << " cores: " << m.why;
  }
}

TEST(PlanForMachine, ReasonStatesTheFiguresItChose) {
  MachinePlan plan = plan_for_machine(8, 16 * kGiB);
  EXPECT_NE(plan.reason.find("8 cores -> 7 workers"), std::string::npos) << plan.reason;
  EXPECT_NE(plan.reason.find("16 GB RAM -> 1.4 GB per worker"), std::string::npos) << plan.reason;
}

}  // namespace
}  // namespace nightshift::config
