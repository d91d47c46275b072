// LevelZeroBackend: Intel GPUs through Level Zero Sysman, the loader opened
// with dlopen (libze_loader.so.1). On the 1.8 loader Sysman is enabled by
// ZES_ENABLE_SYSMAN=1 before zeInit; zesInit is used where the loader has it,
// and if it fails the zeInit path is still tried. Multi-tile parts are read
// as a whole card: its power domain (or the tiles' summed), every tile's
// device-local memory, the device-level engine group (or the tiles' mean).
//
// Consumer Arc cards refuse some queries (temperature with
// ZE_RESULT_ERROR_DEPENDENCY_UNAVAILABLE, engine activity without
// privileges): such a field is reported unavailable with the reason and the
// rest of the sample is kept.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stages/telemetry/gpu_backend.h"
#include "stages/telemetry/shared_library.h"

namespace nightshift::telemetry {

// "ZE_RESULT_ERROR_DEPENDENCY_UNAVAILABLE (...)" for a ze_result_t value.
std::string ze_result_text(uint32_t result);

class LevelZeroBackend : public GpuBackend {
 public:
  explicit LevelZeroBackend(std::string library = "libze_loader.so.1");
  ~LevelZeroBackend() override;

  std::string_view name() const override { return "levelzero"; }
  Status init() override;
  const std::vector<GpuDeviceInfo>& devices() const override { return devices_; }
  void refresh(std::size_t device, int64_t mono_ns, GpuSample& out) override;
  void shutdown() override {}

 private:
  struct Api;
  struct Device;
  Status load_api();
  Status initialise_driver();
  void add_device(void* handle);
  void find_power_domains(Device& d);
  void find_engine_groups(Device& d);
  void read_temperature(Device& d, GpuSample& out);
  void read_power(Device& d, GpuSample& out);
  void read_memory(Device& d, GpuSample& out);
  void read_frequency(Device& d, GpuSample& out);
  void read_activity(Device& d, GpuSample& out);
  void read_fan(Device& d, GpuSample& out);

  std::string library_name_;
  std::optional<SharedLibrary> library_;
  std::unique_ptr<Api> api_;
  std::vector<std::unique_ptr<Device>> state_;
  std::vector<GpuDeviceInfo> devices_;
};

}  // namespace nightshift::telemetry
