#include "stages/telemetry/sysfs_backend.h"

#include <cctype>
#include <sstream>

#include "stages/telemetry/text_file.h"

namespace nightshift::telemetry {
namespace {

bool is_card_name(const std::string& name) {
  if (name.size() <= 4) return false;
  for (std::size_t i = 4; i < name.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;  // card0-DP-1
  }
  return true;
}

// KEY=VALUE lines of a uevent file.
std::string uevent_value(const std::string& text, const std::string& key) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.compare(0, key.size() + 1, key + "=") == 0) return line.substr(key.size() + 1);
  }
  return "";
}

bool supported_driver(const std::string& driver) {
  return driver == "amdgpu" || driver == "i915" || driver == "xe";
}

// Which sample field a hwmon temperature label feeds.
std::optional<double> GpuSample::*temp_field(const std::string& label) {
  if (label == "junction" || label == "hotspot") return &GpuSample::temp_junction_c;
  if (label == "mem" || label == "vram") return &GpuSample::temp_mem_c;
  return &GpuSample::temp_c;  // edge, pkg, gpu, or unlabelled
}

std::string trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

}  // namespace

SysfsBackend::SysfsBackend(std::string sysfs_root) : root_(std::move(sysfs_root)) {}

Status SysfsBackend::init() {
  std::string drm = root_ + "/class/drm";
  if (!path_exists(drm)) return make_error("no device: " + drm + " does not exist");
  for (const auto& name : list_dir(drm, "card")) {
    if (!is_card_name(name)) continue;
    Card card;
    card.card_dir = drm + "/" + name;
    auto uevent = read_text_file(card.card_dir + "/device/uevent");
    if (!uevent) continue;
    card.driver = uevent_value(*uevent, "DRIVER");
    if (!supported_driver(card.driver)) continue;
    auto hwmons = list_dir(card.card_dir + "/device/hwmon", "hwmon");
    if (!hwmons.empty()) card.hwmon_dir = card.card_dir + "/device/hwmon/" + hwmons.front();

    GpuDeviceInfo info;
    std::string slot = uevent_value(*uevent, "PCI_SLOT_NAME");
    if (!slot.empty()) info.pci_bus_id = slot;
    auto product = read_text_file(card.card_dir + "/device/product_name");
    info.name = product ? trimmed(*product) : card.driver + " GPU " + (slot.empty() ? name : slot);
    auto total = read_int_file(card.card_dir + "/device/mem_info_vram_total");
    if (total) info.mem_total_bytes = static_cast<uint64_t>(*total);
    devices_.push_back(info);
    cards_.push_back(std::move(card));
  }
  if (cards_.empty()) return make_error("no device: no amdgpu, i915 or xe card under " + drm);
  return Status::success();
}

void SysfsBackend::refresh(std::size_t device, int64_t mono_ns, GpuSample& out) {
  Card& card = cards_.at(device);
  read_load_and_memory(card, out);
  read_temperatures(card, out);
  read_power(card, mono_ns, out);
  read_fan(card, out);
  read_clocks(card, out);
}

void SysfsBackend::read_load_and_memory(const Card& card, GpuSample& out) const {
  if (card.driver != "amdgpu") {
    mark_unavailable(out, "util_pct", card.driver + " exposes engine busyness only via perf PMU");
    mark_unavailable(out, "mem_used_bytes", card.driver + " does not expose VRAM use in sysfs");
    mark_unavailable(out, "mem_total_bytes", card.driver + " does not expose VRAM size in sysfs");
    return;
  }
  auto busy = read_int_file(card.card_dir + "/device/gpu_busy_percent");
  if (busy)
    out.util_pct = static_cast<double>(*busy);
  else
    mark_unavailable(out, "util_pct", busy.error());
  auto used = read_int_file(card.card_dir + "/device/mem_info_vram_used");
  if (used)
    out.mem_used_bytes = static_cast<uint64_t>(*used);
  else
    mark_unavailable(out, "mem_used_bytes", used.error());
  auto total = read_int_file(card.card_dir + "/device/mem_info_vram_total");
  if (total)
    out.mem_total_bytes = static_cast<uint64_t>(*total);
  else
    mark_unavailable(out, "mem_total_bytes", total.error());
}

void SysfsBackend::read_temperatures(const Card& card, GpuSample& out) const {
  if (card.hwmon_dir.empty()) {
    for (const char* field : {"temp_c", "temp_junction_c", "temp_mem_c"})
      mark_unavailable(out, field, "no hwmon directory");
    return;
  }
  for (const auto& file : list_dir(card.hwmon_dir, "temp")) {
    const std::string suffix = "_input";
    if (file.size() <= suffix.size() || file.substr(file.size() - suffix.size()) != suffix)
      continue;
    auto millideg = read_int_file(card.hwmon_dir + "/" + file);
    if (!millideg) continue;
    std::string stem = file.substr(0, file.size() - suffix.size());
    auto label = read_text_file(card.hwmon_dir + "/" + stem + "_label");
    auto field = temp_field(label ? trimmed(*label) : "");
    if (!(out.*field)) out.*field = static_cast<double>(*millideg) / 1000.0;
  }
  if (!out.temp_c) mark_unavailable(out, "temp_c", "no temperature sensor in " + card.hwmon_dir);
  if (!out.temp_junction_c)
    mark_unavailable(out, "temp_junction_c", "no junction/hotspot sensor in " + card.hwmon_dir);
  if (!out.temp_mem_c)
    mark_unavailable(out, "temp_mem_c", "no mem/vram sensor in " + card.hwmon_dir);
}

void SysfsBackend::read_power(Card& card, int64_t mono_ns, GpuSample& out) const {
  if (card.hwmon_dir.empty()) {
    mark_unavailable(out, "power_w", "no hwmon directory");
    mark_unavailable(out, "energy_j", "no hwmon directory");
    return;
  }
  for (const char* file : {"/power1_average", "/power1_input"}) {
    auto microwatts = read_int_file(card.hwmon_dir + file);
    if (microwatts) {
      out.power_w = static_cast<double>(*microwatts) / 1e6;
      break;
    }
  }
  auto energy_uj = read_int_file(card.hwmon_dir + "/energy1_input");
  if (energy_uj) {
    out.energy_j = static_cast<double>(*energy_uj) / 1e6;
    CounterReading reading{static_cast<uint64_t>(*energy_uj),
                           static_cast<uint64_t>(mono_ns / 1000)};
    auto rate = card.energy_rate.update(reading);
    if (!out.power_w && rate) out.power_w = *rate;
    if (!out.power_w && !rate) mark_unavailable(out, "power_w", rate.error());
  } else {
    mark_unavailable(out, "energy_j", "no energy1_input");
  }
  if (!out.power_w)
    mark_unavailable(out, "power_w", "no power1_average, power1_input or energy1_input");
}

void SysfsBackend::read_fan(const Card& card, GpuSample& out) const {
  if (card.hwmon_dir.empty()) {
    mark_unavailable(out, "fan_rpm", "no hwmon directory");
    mark_unavailable(out, "fan_pct", "no hwmon directory");
    return;
  }
  auto rpm = read_int_file(card.hwmon_dir + "/fan1_input");
  if (rpm)
    out.fan_rpm = static_cast<double>(*rpm);
  else
    mark_unavailable(out, "fan_rpm", "no fan1_input (passive cooling or not exposed)");
  auto pwm = read_int_file(card.hwmon_dir + "/pwm1");
  if (pwm)
    out.fan_pct = static_cast<double>(*pwm) * 100.0 / 255.0;
  else
    mark_unavailable(out, "fan_pct", "no pwm1 (passive cooling or not exposed)");
}

void SysfsBackend::read_clocks(const Card& card, GpuSample& out) const {
  std::string dev = card.card_dir + "/device";
  if (card.driver == "amdgpu") {
    auto sclk = read_text_file(dev + "/pp_dpm_sclk");
    auto sclk_mhz = sclk ? parse_dpm_current_mhz(*sclk) : Result<double>(sclk.take_error());
    if (sclk_mhz)
      out.sm_clock_mhz = *sclk_mhz;
    else
      mark_unavailable(out, "sm_clock_mhz", sclk_mhz.error());
    auto mclk = read_text_file(dev + "/pp_dpm_mclk");
    auto mclk_mhz = mclk ? parse_dpm_current_mhz(*mclk) : Result<double>(mclk.take_error());
    if (mclk_mhz)
      out.mem_clock_mhz = *mclk_mhz;
    else
      mark_unavailable(out, "mem_clock_mhz", mclk_mhz.error());
    return;
  }
  // act: the frequency the GPU runs at (0 in RC6); cur is only the request.
  std::string freq_file = card.driver == "i915" ? card.card_dir + "/gt_act_freq_mhz"
                                                : dev + "/tile0/gt0/freq0/act_freq";
  auto mhz = read_int_file(freq_file);
  if (mhz)
    out.sm_clock_mhz = static_cast<double>(*mhz);
  else
    mark_unavailable(out, "sm_clock_mhz", mhz.error());
  mark_unavailable(out, "mem_clock_mhz",
                   card.driver + " does not expose the memory clock in sysfs");
}

}  // namespace nightshift::telemetry
