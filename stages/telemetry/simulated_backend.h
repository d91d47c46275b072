// SimulatedBackend: made-up GPUs for development, demos and tests. Used only
// when "simulated" is listed in telemetry.backends, never as a fallback, and
// every sample it produces says simulated = true.
//
// Without a profile the load follows a slow wave and temperature, power and
// clocks follow the load the way a real card does (temperature lags). With
// telemetry.simulated.temp_profile_c the temperature follows that script.
#pragma once

#include <cstdint>
#include <vector>

#include "config/telemetry_config.h"
#include "stages/telemetry/gpu_backend.h"

namespace nightshift::telemetry {

class SimulatedBackend : public GpuBackend {
 public:
  explicit SimulatedBackend(config::SimulatedConfig config);

  std::string_view name() const override { return "simulated"; }
  Status init() override;
  const std::vector<GpuDeviceInfo>& devices() const override { return devices_; }
  void refresh(std::size_t device, int64_t mono_ns, GpuSample& out) override;
  void shutdown() override {}

  // The scripted temperature for the n-th sample (0-based), if scripted.
  std::optional<double> scripted_temp_c(uint64_t sample_number) const;

 private:
  struct DeviceState {
    uint64_t samples = 0;
    double temp_c = 40;
    double energy_j = 0;
    int64_t last_mono_ns = 0;
  };

  config::SimulatedConfig config_;
  std::vector<GpuDeviceInfo> devices_;
  std::vector<DeviceState> state_;
};

}  // namespace nightshift::telemetry
