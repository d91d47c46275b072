// GpuBackend: one GPU vendor interface (nvtop's shape). The stage never
// branches on vendor; it asks each configured backend to init, list its
// devices, refresh a sample, and shut down.
//
// A backend that cannot serve this machine says why in init()'s error
// ("library missing: ...", "no device", "permission denied: ..."). A field a
// device does not report stays empty in the sample, and where the backend
// knows why, the reason goes into GpuSample::unavailable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/result.h"
#include "schema/telemetry_messages.h"

namespace nightshift::telemetry {

// Static facts about one device, read once at init.
struct GpuDeviceInfo {
  std::string name;
  std::optional<std::string> pci_bus_id;  // "0000:03:00.0", lower case
  std::optional<uint64_t> mem_total_bytes;
};

class GpuBackend {
 public:
  virtual ~GpuBackend() = default;

  // "nvml", "levelzero", "rocm", "sysfs", "simulated".
  virtual std::string_view name() const = 0;
  // Loads the library and finds devices; an error says why the backend is
  // unusable here. Called once.
  virtual Status init() = 0;
  virtual const std::vector<GpuDeviceInfo>& devices() const = 0;
  // Fills the dynamic fields of `out` for device `device` (an index into
  // devices()). `mono_ns` is a monotonic timestamp, used for counter rates.
  virtual void refresh(std::size_t device, int64_t mono_ns, GpuSample& out) = 0;
  virtual void shutdown() = 0;
};

// Marks a field as not available with a reason, keeping the first reason.
inline void mark_unavailable(GpuSample& sample, const std::string& field,
                             const std::string& reason) {
  sample.unavailable.emplace(field, reason);
}

}  // namespace nightshift::telemetry
