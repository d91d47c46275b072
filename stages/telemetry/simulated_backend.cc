#include "stages/telemetry/simulated_backend.h"

#include <algorithm>
#include <cmath>

namespace nightshift::telemetry {
namespace {

constexpr uint64_t kMemTotalBytes = 16ull << 30;
constexpr double kIdlePowerW = 25;
constexpr double kMaxPowerW = 250;

// Load in [0, 100]: a slow wave plus a faster ripple, phase-shifted per device.
double load_pct(double t_s, std::size_t device) {
  double phase = 1.7 * static_cast<double>(device);
  double wave = 0.5 + 0.4 * std::sin(t_s / 20.0 + phase) + 0.1 * std::sin(t_s * 1.3 + phase);
  return std::clamp(100.0 * wave, 0.0, 100.0);
}

}  // namespace

SimulatedBackend::SimulatedBackend(config::SimulatedConfig config) : config_(std::move(config)) {}

Status SimulatedBackend::init() {
  if (config_.gpus <= 0) return make_error("no device: telemetry.simulated.gpus is 0");
  for (int i = 0; i < config_.gpus; ++i) {
    GpuDeviceInfo info;
    info.name = "Simulated GPU " + std::to_string(i);
    info.mem_total_bytes = kMemTotalBytes;
    devices_.push_back(info);
  }
  state_.resize(devices_.size());
  return Status::success();
}

std::optional<double> SimulatedBackend::scripted_temp_c(uint64_t sample_number) const {
  const auto& profile = config_.temp_profile_c;
  if (profile.empty()) return std::nullopt;
  uint64_t step = sample_number / static_cast<uint64_t>(config_.step_samples);
  step = std::min<uint64_t>(step, profile.size() - 1);
  return static_cast<double>(profile[step]);
}

void SimulatedBackend::refresh(std::size_t device, int64_t mono_ns, GpuSample& out) {
  DeviceState& s = state_.at(device);
  double t_s = static_cast<double>(mono_ns) / 1e9;
  double dt_s = s.samples == 0 ? 0 : static_cast<double>(mono_ns - s.last_mono_ns) / 1e9;
  double load = load_pct(t_s, device);
  double power_w = kIdlePowerW + (kMaxPowerW - kIdlePowerW) * load / 100.0;

  // Temperature approaches 35 + 0.5 * load with a time constant of ~10 s.
  double target_c = 35.0 + 0.5 * load;
  s.temp_c += (target_c - s.temp_c) * std::min(1.0, dt_s / 10.0);
  auto scripted = scripted_temp_c(s.samples);
  s.energy_j += power_w * std::max(0.0, dt_s);
  s.last_mono_ns = mono_ns;
  ++s.samples;

  out.simulated = true;
  out.temp_c = scripted ? *scripted : s.temp_c;
  out.temp_junction_c = *out.temp_c + 8.0;
  out.util_pct = load;
  out.mem_total_bytes = kMemTotalBytes;
  out.mem_used_bytes =
      static_cast<uint64_t>(static_cast<double>(kMemTotalBytes) * (0.2 + 0.6 * load / 100.0));
  out.sm_clock_mhz = 600.0 + 14.0 * load;
  out.mem_clock_mhz = load > 5 ? 1750.0 : 405.0;
  out.power_w = power_w;
  out.energy_j = s.energy_j;
  out.fan_pct = std::clamp(30.0 + 0.6 * load, 0.0, 100.0);
  out.fan_rpm = 1000.0 + 20.0 * load;
}

}  // namespace nightshift::telemetry
