#include "config/telemetry_config.h"

#include "config/config_reader.h"

namespace nightshift::config {

void read_section(ConfigReader& r, AlertThresholds& a) {
  r.field("gpu_temp_warning_c", a.gpu_temp_warning_c, 0, 150);
  r.field("gpu_temp_critical_c", a.gpu_temp_critical_c, 0, 150);
  r.field("vram_pct", a.vram_pct, 0, 100);
  r.field("host_mem_pct", a.host_mem_pct, 0, 100);
  r.field("host_cpu_pct", a.host_cpu_pct, 0, 100);
  r.field("disk_pct", a.disk_pct, 0, 100);
  r.field("hysteresis_pct", a.hysteresis_pct, 0, 50);
  r.field("hysteresis_c", a.hysteresis_c, 0, 50);
  r.field("min_duration_ms", a.min_duration_ms, 0, 3'600'000);
  r.field("failed_jobs", a.failed_jobs, 0, 1'000'000);
  if (a.gpu_temp_warning_c > a.gpu_temp_critical_c) {
    r.error("gpu_temp_warning_c", "must not exceed gpu_temp_critical_c");
  }
  r.finish();
}

void read_section(ConfigReader& r, SimulatedConfig& s) {
  r.field("gpus", s.gpus, 0, 64);
  r.list("temp_profile_c", s.temp_profile_c, -40, 150);
  r.field("step_samples", s.step_samples, 1, 1'000'000);
  r.finish();
}

void read_section(ConfigReader& r, TelemetryConfig& t) {
  r.field("enabled", t.enabled);
  r.field("interval_ms", t.interval_ms, 10, 3'600'000);
  r.list("backends", t.backends, {"nvml", "levelzero", "rocm", "sysfs", "simulated"}, "backend");
  r.field("sysfs_root", t.sysfs_root);
  r.field("nvml_library", t.nvml_library);
  r.field("levelzero_library", t.levelzero_library);
  r.field("rocm_library", t.rocm_library);
  r.field("proc_root", t.proc_root);
  r.list("disks", t.disks);
  // The shorthand sets simulated.gpus only when given, so a config read back
  // (config_keys.h) keeps a simulated.gpus of its own.
  if (r.field("simulated_gpus", t.simulated_gpus, 0, 64)) t.simulated.gpus = t.simulated_gpus;
  ConfigReader simulated = r.section("simulated");
  read_section(simulated, t.simulated);
  ConfigReader alerts = r.section("alerts");
  read_section(alerts, t.alerts);
  r.finish();
}

}  // namespace nightshift::config
