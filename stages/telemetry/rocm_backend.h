// RocmBackend: AMD GPUs through ROCm SMI (librocm_smi64.so.1, opened with
// dlopen). rsmi_init fails and prints to stderr on machines without an AMD
// GPU: that is "backend unavailable", and our stderr stays clean. The
// frequency table is read in whichever struct layout the library writes
// (rocm_smi_abi.h); power is the average, else the current socket power;
// temp_c is the edge sensor, else the junction.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stages/telemetry/gpu_backend.h"
#include "stages/telemetry/shared_library.h"

namespace nightshift::telemetry {

class RocmBackend : public GpuBackend {
 public:
  explicit RocmBackend(std::string library = "librocm_smi64.so.1");
  ~RocmBackend() override;

  std::string_view name() const override { return "rocm"; }
  Status init() override;
  const std::vector<GpuDeviceInfo>& devices() const override { return devices_; }
  void refresh(std::size_t device, int64_t mono_ns, GpuSample& out) override;
  void shutdown() override;

 private:
  struct Api;
  Status load_api();
  std::string describe(int status) const;
  void read_temperatures(uint32_t dv, GpuSample& out) const;
  void read_memory(uint32_t dv, GpuSample& out) const;
  void read_power(uint32_t dv, GpuSample& out) const;
  void read_clocks(uint32_t dv, GpuSample& out) const;
  void read_fan(uint32_t dv, GpuSample& out) const;

  std::string library_name_;
  std::optional<SharedLibrary> library_;
  std::unique_ptr<Api> api_;
  bool initialised_ = false;
  std::vector<GpuDeviceInfo> devices_;
};

}  // namespace nightshift::telemetry
