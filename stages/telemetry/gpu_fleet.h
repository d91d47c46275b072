// GpuFleet: every configured backend, initialised in the configured order,
// and the devices they serve under one global index. A device already served
// by an earlier backend (same PCI bus id) is not served again, so the sysfs
// fallback never double-counts a card that ROCm SMI or NVML reads natively.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/telemetry_config.h"
#include "schema/telemetry_messages.h"
#include "stages/telemetry/gpu_backend.h"

namespace nightshift::telemetry {

// The backend named `name` configured from `config`, or nullptr if unknown.
std::unique_ptr<GpuBackend> make_backend(const std::string& name,
                                         const config::TelemetryConfig& config);

class GpuFleet {
 public:
  // Initialises the backends listed in config.backends.
  static GpuFleet open(const config::TelemetryConfig& config, const std::string& host);
  // Takes already-made backends (tests); initialises them in order.
  GpuFleet(std::vector<std::unique_ptr<GpuBackend>> backends, std::string host);
  ~GpuFleet();
  GpuFleet(GpuFleet&&) = default;
  GpuFleet& operator=(GpuFleet&&) = default;

  const std::vector<BackendReport>& reports() const { return reports_; }
  std::size_t device_count() const { return slots_.size(); }
  GpuInventory inventory() const;

  // One sample per device, in global index order.
  std::vector<GpuSample> sample(int64_t mono_ns);

 private:
  struct Slot {
    GpuBackend* backend;
    std::size_t local_index;
    GpuDeviceInfo info;
  };

  std::vector<std::unique_ptr<GpuBackend>> backends_;
  std::vector<BackendReport> reports_;
  std::vector<Slot> slots_;
  std::string host_;
};

}  // namespace nightshift::telemetry
