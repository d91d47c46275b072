#include "config/alert_rules.h"

namespace nightshift::config {

std::vector<AlertRule> rules_from_config(const AlertThresholds& t) {
  auto pct = [&](std::string_view kind, double threshold) {
    return AlertRule{std::string(kind), "warning", threshold, threshold - t.hysteresis_pct, "%"};
  };
  return {
      AlertRule{std::string(kGpuTemp), "warning", t.gpu_temp_warning_c,
                t.gpu_temp_warning_c - t.hysteresis_c, "°C"},
      AlertRule{std::string(kGpuTemp), "critical", t.gpu_temp_critical_c,
                t.gpu_temp_critical_c - t.hysteresis_c, "°C"},
      pct(kGpuVram, t.vram_pct),
      pct(kHostMem, t.host_mem_pct),
      pct(kHostCpu, t.host_cpu_pct),
      pct(kDiskUsed, t.disk_pct),
  };
}

}  // namespace nightshift::config
