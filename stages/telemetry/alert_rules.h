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

#include "config/alert_rules.h"
#include "schema/telemetry_messages.h"

namespace nightshift::telemetry {

// The rules and metric kinds live in config/alert_rules.h, shared with the
// gateway, which judges GPU health by the same rules.
using config::AlertRule;
using config::kDiskUsed;
using config::kGpuTemp;
using config::kGpuVram;
using config::kHostCpu;
using config::kHostMem;
using config::rules_from_config;

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
