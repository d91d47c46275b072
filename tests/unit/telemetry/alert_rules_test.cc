#include "stages/telemetry/alert_rules.h"

#include <gtest/gtest.h>

namespace nightshift::telemetry {
namespace {

AlertTracker tracker(int64_t min_duration_ns = 0) {
  return AlertTracker(rules_from_config(config::AlertThresholds{}), min_duration_ns, "hostA");
}

std::vector<Alert> feed(AlertTracker& t, std::string_view kind, const std::string& metric,
                        std::vector<double> values) {
  std::vector<Alert> all;
  int64_t now = 0;
  for (double v : values) {
    for (auto& a : t.observe(kind, metric, v, now)) all.push_back(a);
    now += 100'000'000;
  }
  return all;
}

TEST(AlertRules, DefaultsAreTheBandsUsersKnow) {
  auto rules = rules_from_config(config::AlertThresholds{});
  ASSERT_EQ(rules.size(), 6u);
  EXPECT_EQ(rules[0].threshold, 70);
  EXPECT_EQ(rules[1].level, "critical");
  EXPECT_EQ(rules[1].threshold, 80);
  EXPECT_EQ(rules[1].clear_below, 77);
}

TEST(AlertRules, NoFlappingAroundTheThreshold) {
  auto t = tracker();
  auto alerts = feed(t, kGpuTemp, "gpu0.temp_c", {60, 71, 69, 71, 69.5, 71, 68, 72, 66, 60});
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].state, "firing");
  EXPECT_EQ(alerts[0].level, "warning");
  EXPECT_EQ(alerts[0].value, 71);
  EXPECT_EQ(alerts[1].state, "resolved");
  EXPECT_EQ(alerts[1].value, 66);  // first value below 70 - 3
  EXPECT_EQ(alerts[1].threshold, 67);
  EXPECT_EQ(t.firing(), 0u);
}

TEST(AlertRules, LevelsFireAndResolveIndependently) {
  auto t = tracker();
  auto alerts = feed(t, kGpuTemp, "gpu1.temp_c", {85, 79, 81, 79, 76, 60});
  ASSERT_EQ(alerts.size(), 4u);
  EXPECT_EQ(alerts[0].level + alerts[0].state, "warningfiring");
  EXPECT_EQ(alerts[1].level + alerts[1].state, "criticalfiring");
  EXPECT_EQ(alerts[2].level + alerts[2].state, "criticalresolved");
  EXPECT_EQ(alerts[2].value, 76);
  EXPECT_EQ(alerts[3].level + alerts[3].state, "warningresolved");
  EXPECT_EQ(alerts[3].host, "hostA");
  EXPECT_EQ(alerts[3].metric, "gpu1.temp_c");
}

TEST(AlertRules, MetricsAreTrackedSeparately) {
  auto t = tracker();
  EXPECT_EQ(t.observe(kHostMem, "host.mem_pct", 95, 0).size(), 1u);
  EXPECT_EQ(t.observe(kDiskUsed, "disk:/.used_pct", 90, 0).size(), 1u);
  EXPECT_EQ(t.observe(kDiskUsed, "disk:/data.used_pct", 50, 0).size(), 0u);
  EXPECT_EQ(t.observe(kHostCpu, "host.cpu_pct", 95, 0).size(), 0u);  // not above 95
  EXPECT_EQ(t.firing(), 2u);
}

TEST(AlertRules, ResolvesMostSevereFirstWhenBothClearTogether) {
  auto t = tracker();
  auto alerts = feed(t, kGpuTemp, "gpu0.temp_c", {85, 60});
  ASSERT_EQ(alerts.size(), 4u);
  EXPECT_EQ(alerts[2].level + alerts[2].state, "criticalresolved");
  EXPECT_EQ(alerts[3].level + alerts[3].state, "warningresolved");
}

TEST(AlertRules, MinDurationDelaysFiringAndResetsOnDip) {
  auto t = tracker(300'000'000);
  EXPECT_TRUE(t.observe(kGpuVram, "gpu0.vram_pct", 95, 0).empty());
  EXPECT_TRUE(t.observe(kGpuVram, "gpu0.vram_pct", 95, 200'000'000).empty());
  EXPECT_TRUE(t.observe(kGpuVram, "gpu0.vram_pct", 80, 250'000'000).empty());  // dip resets
  EXPECT_TRUE(t.observe(kGpuVram, "gpu0.vram_pct", 95, 400'000'000).empty());
  auto fired = t.observe(kGpuVram, "gpu0.vram_pct", 95, 700'000'000);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].state, "firing");
}

}  // namespace
}  // namespace nightshift::telemetry
