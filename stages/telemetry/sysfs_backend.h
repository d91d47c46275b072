// SysfsBackend: the DRM sysfs fallback for amdgpu, i915 and xe. Reads the
// files the kernel driver exposes under <root>/class/drm/card<N>/ (root is
// telemetry.sysfs_root, so tests run against fake trees):
//   amdgpu: device/gpu_busy_percent, device/mem_info_vram_{used,total},
//           device/pp_dpm_{sclk,mclk}, hwmon temp*_input, power1_average,
//           fan1_input, pwm1
//   i915:   gt_act_freq_mhz, hwmon energy1_input (power from its rate)
//   xe:     device/tile0/gt0/freq0/act_freq, hwmon energy1_input, temp*
// What a driver does not expose is reported unavailable with the reason.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "stages/telemetry/counter_rates.h"
#include "stages/telemetry/gpu_backend.h"

namespace nightshift::telemetry {

class SysfsBackend : public GpuBackend {
 public:
  explicit SysfsBackend(std::string sysfs_root);

  std::string_view name() const override { return "sysfs"; }
  Status init() override;
  const std::vector<GpuDeviceInfo>& devices() const override { return devices_; }
  void refresh(std::size_t device, int64_t mono_ns, GpuSample& out) override;
  void shutdown() override {}

  // The kernel driver of each device ("amdgpu", "i915", "xe").
  const std::string& driver(std::size_t device) const { return cards_.at(device).driver; }

 private:
  struct Card {
    std::string driver;
    std::string card_dir;   // <root>/class/drm/cardN
    std::string hwmon_dir;  // <card>/device/hwmon/hwmonM, empty if none
    CounterRate energy_rate{power_w_from_energy};
  };

  void read_temperatures(const Card& card, GpuSample& out) const;
  void read_power(Card& card, int64_t mono_ns, GpuSample& out) const;
  void read_fan(const Card& card, GpuSample& out) const;
  void read_load_and_memory(const Card& card, GpuSample& out) const;
  void read_clocks(const Card& card, GpuSample& out) const;

  std::string root_;
  std::vector<GpuDeviceInfo> devices_;
  std::vector<Card> cards_;
};

}  // namespace nightshift::telemetry
