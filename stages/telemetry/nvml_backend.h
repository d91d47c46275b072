// NvmlBackend: NVIDIA GPUs through NVML, opened with dlopen so the binary
// does not depend on the driver. Uses the versioned entry points
// (nvmlInit_v2, nvmlDeviceGetCount_v2, nvmlDeviceGetHandleByIndex_v2) and
// nvmlDeviceGetMemoryInfo_v2 with its struct version set, falling back to v1
// on drivers that lack or refuse it (the sample then says so: v1's `used`
// includes reserved memory), and nvmlDeviceGetFanSpeedRPM where the driver
// has it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stages/telemetry/gpu_backend.h"
#include "stages/telemetry/nvml_api.h"
#include "stages/telemetry/shared_library.h"

namespace nightshift::telemetry {

class NvmlBackend : public GpuBackend {
 public:
  explicit NvmlBackend(std::string library = "libnvidia-ml.so.1");
  ~NvmlBackend() override;

  std::string_view name() const override { return "nvml"; }
  Status init() override;
  const std::vector<GpuDeviceInfo>& devices() const override { return devices_; }
  void refresh(std::size_t device, int64_t mono_ns, GpuSample& out) override;
  void shutdown() override;

 private:
  struct Api;
  Status load_api();
  std::string describe(nvml::Return result) const;
  void read_memory(nvml::Device handle, GpuSample& out) const;
  void read_clocks_and_power(nvml::Device handle, GpuSample& out) const;
  void read_fan(nvml::Device handle, GpuSample& out) const;

  std::string library_name_;
  std::optional<SharedLibrary> library_;
  std::unique_ptr<Api> api_;
  bool initialised_ = false;
  std::vector<nvml::Device> handles_;
  std::vector<GpuDeviceInfo> devices_;
};

}  // namespace nightshift::telemetry
