// The alert rules users know, from telemetry.alerts: GPU temperature > 70
// warning, > 80 critical; VRAM, host memory > 90 %, CPU > 95 %, disk > 85 %.
// The telemetry stage raises alerts with them (stages/telemetry/alert_rules.h
// adds the hysteresis tracker); the gateway judges a GPU's health by them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/telemetry_config.h"

namespace nightshift::config {

// Metric kinds the rules apply to; an instance adds a prefix ("gpu0.").
inline constexpr std::string_view kGpuTemp = "temp_c";
inline constexpr std::string_view kGpuVram = "vram_pct";
inline constexpr std::string_view kHostMem = "mem_pct";
inline constexpr std::string_view kHostCpu = "cpu_pct";
inline constexpr std::string_view kDiskUsed = "used_pct";

struct AlertRule {
  std::string kind;   // one of the kinds above
  std::string level;  // warning, critical
  double threshold = 0;
  double clear_below = 0;  // threshold - hysteresis
  std::string unit;        // "°C" or "%"
};

std::vector<AlertRule> rules_from_config(const AlertThresholds& thresholds);

}  // namespace nightshift::config
