#include "stages/telemetry/alert_rules.h"

#include <fmt/format.h>

namespace nightshift::telemetry {

AlertTracker::AlertTracker(std::vector<AlertRule> rules, int64_t min_duration_ns, std::string host)
    : rules_(std::move(rules)), min_duration_ns_(min_duration_ns), host_(std::move(host)) {}

std::vector<Alert> AlertTracker::observe(std::string_view kind, const std::string& metric,
                                         double value, int64_t mono_ns) {
  std::vector<Alert> alerts;
  std::vector<Alert> resolved;
  for (const auto& rule : rules_) {
    if (rule.kind != kind) continue;
    State& s = states_[{metric, rule.level}];
    if (!s.firing) {
      if (value <= rule.threshold) {
        s.above_since_ns = -1;
        continue;
      }
      if (s.above_since_ns < 0) s.above_since_ns = mono_ns;
      if (mono_ns - s.above_since_ns < min_duration_ns_) continue;
      s.firing = true;
      alerts.push_back(make_alert(rule, metric, value, true));
    } else if (value < rule.clear_below) {
      s.firing = false;
      s.above_since_ns = -1;
      resolved.push_back(make_alert(rule, metric, value, false));
    }
  }
  // Rules go from mild to severe; stand down from the most severe first.
  alerts.insert(alerts.end(), resolved.rbegin(), resolved.rend());
  return alerts;
}

std::size_t AlertTracker::firing() const {
  std::size_t n = 0;
  for (const auto& [key, state] : states_) n += state.firing ? 1 : 0;
  return n;
}

Alert AlertTracker::make_alert(const AlertRule& rule, const std::string& metric, double value,
                               bool firing) const {
  Alert a;
  a.level = rule.level;
  a.state = firing ? "firing" : "resolved";
  a.host = host_;
  a.metric = metric;
  a.value = value;
  a.threshold = firing ? rule.threshold : rule.clear_below;
  a.message = firing ? fmt::format("{} is {:.1f} {}, above the {} threshold of {:g} {}", metric,
                                   value, rule.unit, rule.level, rule.threshold, rule.unit)
                     : fmt::format("{} is back to {:.1f} {}, below {:g} {}", metric, value,
                                   rule.unit, rule.clear_below, rule.unit);
  return a;
}

}  // namespace nightshift::telemetry
