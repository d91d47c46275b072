// Alert rules with hysteresis. A rule fires when a metric goes above its
// threshold (and has stayed there min_duration_ms) and resolves only when it
// falls below threshold - hysteresis, so a value wobbling around the
// threshold gives one alert, not a stream. Each firing is followed, in time,
// by exactly one resolved event for the same metric and level.
//
// Levels are independent: a GPU at 85 °C has both its warning (> 70) and its
// critical (> 80) alert firing; cooling to 75 °C resolves the critical one.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/telemetry_config.h"
#include "schema/telemetry_messages.h"

namespace nightshift::telemetry {

// Metric kinds the stage evaluates; an instance adds a prefix ("gpu0.").
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

// The rules users know: GPU temperature > 70 warning, > 80 critical; VRAM,
// host memory > 90 %, CPU > 95 %, disk > 85 % (all from config).
std::vector<AlertRule> rules_from_config(const config::AlertThresholds& thresholds);

class AlertTracker {
 public:
  AlertTracker(std::vector<AlertRule> rules, int64_t min_duration_ns, std::string host);

  // Feeds one reading of `metric` (e.g. "gpu0.temp_c") of `kind`; returns the
  // alerts (firing or resolved) this reading causes.
  std::vector<Alert> observe(std::string_view kind, const std::string& metric, double value,
                             int64_t mono_ns);

  // How many alerts are firing now.
  std::size_t firing() const;

 private:
  struct State {
    bool firing = false;
    int64_t above_since_ns = -1;
  };
  Alert make_alert(const AlertRule& rule, const std::string& metric, double value,
                   bool firing) const;

  std::vector<AlertRule> rules_;
  int64_t min_duration_ns_;
  std::string host_;
  std::map<std::pair<std::string, std::string>, State> states_;  // (metric, level)
};

}  // namespace nightshift::telemetry
