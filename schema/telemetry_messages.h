// Telemetry and alert messages. Units: degrees C, percent, bytes, watts, MHz,
// RPM. Every GPU field is optional: absent means "not reported", never zero.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nightshift {

struct DiskUsage {
  std::string path;
  uint64_t used_bytes = 0;
  uint64_t total_bytes = 0;

  template <class V>
  void visit(V& v) {
    v("path", path);
    v("used_bytes", used_bytes);
    v("total_bytes", total_bytes);
  }
};

struct ProcessUsage {
  int64_t pid = 0;
  std::string name;
  uint64_t rss_bytes = 0;
  double cpu_pct = 0;

  template <class V>
  void visit(V& v) {
    v("pid", pid);
    v("name", name);
    v("rss_bytes", rss_bytes);
    v("cpu_pct", cpu_pct);
  }
};

struct HostSample {
  static constexpr const char* kType = "telemetry.host";
  std::string host;
  std::optional<double> cpu_pct;
  uint64_t mem_total_bytes = 0;
  uint64_t mem_used_bytes = 0;
  uint64_t mem_available_bytes = 0;
  double load1 = 0, load5 = 0, load15 = 0;
  std::vector<DiskUsage> disks;
  std::vector<ProcessUsage> processes;

  template <class V>
  void visit(V& v) {
    v("host", host);
    v("cpu_pct", cpu_pct);
    v("mem_total_bytes", mem_total_bytes);
    v("mem_used_bytes", mem_used_bytes);
    v("mem_available_bytes", mem_available_bytes);
    v("load1", load1);
    v("load5", load5);
    v("load15", load15);
    v("disks", disks);
    v("processes", processes);
  }
};

struct GpuSample {
  static constexpr const char* kType = "telemetry.gpu";
  std::string host;
  uint32_t index = 0;
  std::string backend;  // nvml, levelzero, rocm, sysfs, simulated
  std::string name;
  bool simulated = false;
  std::optional<std::string> pci_bus_id;
  std::optional<double> temp_c;           // edge / GPU sensor
  std::optional<double> temp_junction_c;  // hotspot, where the device reports one
  std::optional<double> temp_mem_c;       // memory sensor, where reported
  std::optional<double> util_pct;
  std::optional<uint64_t> mem_used_bytes;
  std::optional<uint64_t> mem_total_bytes;
  // Which call served mem_used_bytes where backends differ in meaning:
  // "nvml_v2", or "nvml_v1_includes_reserved" (driver/firmware memory counted).
  std::optional<std::string> mem_used_source;
  std::optional<double> sm_clock_mhz;
  std::optional<double> mem_clock_mhz;
  std::optional<double> power_w;
  std::optional<double> energy_j;
  std::optional<double> fan_rpm;
  std::optional<double> fan_pct;
  // Field name -> why it is not available (e.g. "permission denied").
  std::map<std::string, std::string> unavailable;

  template <class V>
  void visit(V& v) {
    v("host", host);
    v("index", index);
    v("backend", backend);
    v("name", name);
    v("simulated", simulated);
    v("pci_bus_id", pci_bus_id);
    v("temp_c", temp_c);
    v("temp_junction_c", temp_junction_c);
    v("temp_mem_c", temp_mem_c);
    v("util_pct", util_pct);
    v("mem_used_bytes", mem_used_bytes);
    v("mem_total_bytes", mem_total_bytes);
    v("mem_used_source", mem_used_source);
    v("sm_clock_mhz", sm_clock_mhz);
    v("mem_clock_mhz", mem_clock_mhz);
    v("power_w", power_w);
    v("energy_j", energy_j);
    v("fan_rpm", fan_rpm);
    v("fan_pct", fan_pct);
    v("unavailable", unavailable);
  }
};

// One GPU as the telemetry stage sees it: which backend serves it.
struct InventoryDevice {
  uint32_t index = 0;  // the index in telemetry.gpu.<host>.<index>
  std::string backend;
  std::string name;
  bool simulated = false;
  std::optional<std::string> pci_bus_id;
  std::optional<uint64_t> mem_total_bytes;

  template <class V>
  void visit(V& v) {
    v("index", index);
    v("backend", backend);
    v("name", name);
    v("simulated", simulated);
    v("pci_bus_id", pci_bus_id);
    v("mem_total_bytes", mem_total_bytes);
  }
};

// Whether a configured backend is usable here, and why not.
struct BackendReport {
  std::string name;
  bool available = false;
  std::string reason;  // empty when available
  uint32_t devices = 0;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("available", available);
    v("reason", reason);
    v("devices", devices);
  }
};

// Published on telemetry.inventory.<host> at start and on request.
struct GpuInventory {
  static constexpr const char* kType = "telemetry.inventory";
  std::string host;
  std::vector<BackendReport> backends;
  std::vector<InventoryDevice> devices;

  template <class V>
  void visit(V& v) {
    v("host", host);
    v("backends", backends);
    v("devices", devices);
  }
};

struct Alert {
  static constexpr const char* kType = "alert";
  std::string level;   // info, warning, critical
  std::string state;   // firing, resolved
  std::string host;
  std::string metric;  // e.g. gpu0.temp_c, host.mem_pct
  double value = 0;
  double threshold = 0;
  std::string message;

  template <class V>
  void visit(V& v) {
    v("level", level);
    v("state", state);
    v("host", host);
    v("metric", metric);
    v("value", value);
    v("threshold", threshold);
    v("message", message);
  }
};

}  // namespace nightshift
