// Telemetry stage settings: sampling, backends, alert thresholds.
#pragma once

#include <string>
#include <vector>

namespace nightshift::config {

class ConfigReader;

struct AlertThresholds {
  double gpu_temp_warning_c = 70;   // 70-80 warning
  double gpu_temp_critical_c = 80;  // >80 critical
  double vram_pct = 90;
  double host_mem_pct = 90;
  double host_cpu_pct = 95;
  double disk_pct = 85;
  double hysteresis_pct = 5;   // a firing alert resolves this far below its threshold
  double hysteresis_c = 3;     // same, for temperatures
  int min_duration_ms = 0;     // condition must hold this long before firing
  int failed_jobs = 5;         // a run with more failed attempts than this raises an alert
};

// The simulated backend, for development, demos and tests. With an empty
// temp_profile_c the temperature follows a smooth load curve; otherwise it
// follows the script: each entry holds for step_samples samples, the last one
// holds forever. Counting samples, not time, makes a test's alert sequence
// independent of scheduling jitter.
struct SimulatedConfig {
  int gpus = 1;
  std::vector<int> temp_profile_c;
  int step_samples = 5;
};

struct TelemetryConfig {
  bool enabled = true;
  int interval_ms = 1000;  // 10 ms .. 1 h
  // Backends tried in order; "simulated" is only used when listed here.
  std::vector<std::string> backends = {"nvml", "levelzero", "rocm", "sysfs"};
  std::string sysfs_root = "/sys";
  // The vendor libraries, by soname or path (tests point them at fakes).
  std::string nvml_library = "libnvidia-ml.so.1";
  std::string levelzero_library = "libze_loader.so.1";
  std::string rocm_library = "librocm_smi64.so.1";
  std::string proc_root = "/proc";
  std::vector<std::string> disks = {"/"};
  int simulated_gpus = 1;  // shorthand for simulated.gpus
  SimulatedConfig simulated;
  AlertThresholds alerts;
};

void read_section(ConfigReader& reader, TelemetryConfig& out);
void read_section(ConfigReader& reader, SimulatedConfig& out);

}  // namespace nightshift::config
