#include "stages/telemetry/nvml_backend.h"

#include <algorithm>

namespace nightshift::telemetry {

struct NvmlBackend::Api {
  decltype(&::nvmlInit_v2) init_v2 = nullptr;
  decltype(&::nvmlShutdown) shutdown = nullptr;
  decltype(&::nvmlErrorString) error_string = nullptr;
  decltype(&::nvmlDeviceGetCount_v2) get_count_v2 = nullptr;
  decltype(&::nvmlDeviceGetHandleByIndex_v2) get_handle_v2 = nullptr;
  decltype(&::nvmlDeviceGetName) get_name = nullptr;
  decltype(&::nvmlDeviceGetPciInfo_v3) get_pci_v3 = nullptr;
  decltype(&::nvmlDeviceGetMemoryInfo_v2) get_memory_v2 = nullptr;
  decltype(&::nvmlDeviceGetMemoryInfo) get_memory_v1 = nullptr;
  decltype(&::nvmlDeviceGetTemperature) get_temperature = nullptr;
  decltype(&::nvmlDeviceGetUtilizationRates) get_utilization = nullptr;
  decltype(&::nvmlDeviceGetClockInfo) get_clock = nullptr;
  decltype(&::nvmlDeviceGetPowerUsage) get_power_mw = nullptr;
  decltype(&::nvmlDeviceGetTotalEnergyConsumption) get_energy_mj = nullptr;
  decltype(&::nvmlDeviceGetFanSpeed) get_fan_pct = nullptr;
  decltype(&::nvmlDeviceGetFanSpeedRPM) get_fan_rpm = nullptr;  // drivers >= 550
};

NvmlBackend::NvmlBackend(std::string library)
    : library_name_(std::move(library)), api_(std::make_unique<Api>()) {}

NvmlBackend::~NvmlBackend() { shutdown(); }

Status NvmlBackend::load_api() {
  auto library = SharedLibrary::open(library_name_);
  if (!library) return library.take_error();
  library_.emplace(std::move(*library));
  Api& a = *api_;
  bool required = library_->load("nvmlInit_v2", a.init_v2) &&
                  library_->load("nvmlShutdown", a.shutdown) &&
                  library_->load("nvmlDeviceGetCount_v2", a.get_count_v2) &&
                  library_->load("nvmlDeviceGetHandleByIndex_v2", a.get_handle_v2) &&
                  library_->load("nvmlDeviceGetMemoryInfo", a.get_memory_v1);
  if (!required)
    return make_error("library too old: " + library_name_ + " lacks the _v2 entry points");
  library_->load("nvmlErrorString", a.error_string);
  library_->load("nvmlDeviceGetName", a.get_name);
  library_->load("nvmlDeviceGetPciInfo_v3", a.get_pci_v3);
  library_->load("nvmlDeviceGetMemoryInfo_v2", a.get_memory_v2);
  library_->load("nvmlDeviceGetTemperature", a.get_temperature);
  library_->load("nvmlDeviceGetUtilizationRates", a.get_utilization);
  library_->load("nvmlDeviceGetClockInfo", a.get_clock);
  library_->load("nvmlDeviceGetPowerUsage", a.get_power_mw);
  library_->load("nvmlDeviceGetTotalEnergyConsumption", a.get_energy_mj);
  library_->load("nvmlDeviceGetFanSpeed", a.get_fan_pct);
  library_->load("nvmlDeviceGetFanSpeedRPM", a.get_fan_rpm);
  return Status::success();
}

std::string NvmlBackend::describe(nvml::Return result) const {
  if (result == nvml::kErrorNoPermission) return "permission denied";
  if (result == nvml::kErrorNotSupported) return "not supported by this device";
  if (api_->error_string != nullptr) return api_->error_string(result);
  return "NVML error " + std::to_string(result);
}

Status NvmlBackend::init() {
  if (Status loaded = load_api(); !loaded) return loaded;
  nvml::Return r = api_->init_v2();
  // The library without a working driver (or GPU) fails here.
  if (r != nvml::kSuccess) return make_error("no device: nvmlInit_v2 failed: " + describe(r));
  initialised_ = true;
  unsigned int count = 0;
  r = api_->get_count_v2(&count);
  if (r != nvml::kSuccess) return make_error("nvmlDeviceGetCount_v2 failed: " + describe(r));
  for (unsigned int i = 0; i < count; ++i) {
    nvml::Device handle = nullptr;
    if (api_->get_handle_v2(i, &handle) != nvml::kSuccess) continue;
    GpuDeviceInfo info;
    char name[96] = {};
    if (api_->get_name && api_->get_name(handle, name, sizeof name) == nvml::kSuccess)
      info.name = name;
    else
      info.name = "NVIDIA GPU " + std::to_string(i);
    nvml::PciInfo pci{};
    if (api_->get_pci_v3 && api_->get_pci_v3(handle, &pci) == nvml::kSuccess) {
      info.pci_bus_id = nvml::normalize_pci_bus_id(pci.bus_id);
    }
    handles_.push_back(handle);
    devices_.push_back(info);
  }
  if (handles_.empty()) return make_error("no device: NVML found no NVIDIA GPU");
  return Status::success();
}

void NvmlBackend::read_memory(nvml::Device handle, GpuSample& out) const {
  auto fail = [&](nvml::Return r) {
    mark_unavailable(out, "mem_used_bytes", describe(r));
    mark_unavailable(out, "mem_total_bytes", describe(r));
  };
  auto use_figures = [&](const nvml::MemoryUse& use) {
    out.mem_used_bytes = use.used_bytes;
    out.mem_total_bytes = use.total_bytes;
    // v1's `used` counts reserved memory too: the sample says which it is.
    out.mem_used_source = use.api_version == 2 ? nvml::kMemSourceV2 : nvml::kMemSourceV1;
  };
  if (api_->get_memory_v2 != nullptr) {
    nvml::MemoryV2 v2{};
    v2.version = nvml::kMemoryV2Version;
    nvml::Return r = api_->get_memory_v2(handle, &v2);
    if (r == nvml::kSuccess) return use_figures(nvml::memory_use(v2));
    if (!nvml::should_fall_back_to_v1(r)) return fail(r);
  }
  nvml::MemoryV1 v1{};
  nvml::Return r = api_->get_memory_v1(handle, &v1);
  if (r != nvml::kSuccess) return fail(r);
  use_figures(nvml::memory_use(v1));
}

void NvmlBackend::read_fan(nvml::Device handle, GpuSample& out) const {
  unsigned int pct = 0;
  nvml::Return r =
      api_->get_fan_pct ? api_->get_fan_pct(handle, &pct) : nvml::kErrorFunctionNotFound;
  // A percentage of the fan's noise-tolerance maximum, which NVML documents
  // may be exceeded; the wire unit is 0-100 %.
  if (r == nvml::kSuccess)
    out.fan_pct = std::min(pct, 100u);
  else
    mark_unavailable(out, "fan_pct", describe(r));
  nvml::FanSpeedInfo rpm{nvml::kFanSpeedInfoV1Version, 0, 0};
  r = api_->get_fan_rpm ? api_->get_fan_rpm(handle, &rpm) : nvml::kErrorFunctionNotFound;
  if (r == nvml::kSuccess)
    out.fan_rpm = rpm.speed;
  else if (r == nvml::kErrorFunctionNotFound)
    mark_unavailable(out, "fan_rpm", "driver too old for nvmlDeviceGetFanSpeedRPM (needs 550+)");
  else
    mark_unavailable(out, "fan_rpm", describe(r));
}

void NvmlBackend::read_clocks_and_power(nvml::Device handle, GpuSample& out) const {
  unsigned int value = 0;
  nvml::Return r = api_->get_clock ? api_->get_clock(handle, nvml::kClockSm, &value)
                                   : nvml::kErrorFunctionNotFound;
  if (r == nvml::kSuccess)
    out.sm_clock_mhz = value;
  else
    mark_unavailable(out, "sm_clock_mhz", describe(r));
  r = api_->get_clock ? api_->get_clock(handle, nvml::kClockMem, &value)
                      : nvml::kErrorFunctionNotFound;
  if (r == nvml::kSuccess)
    out.mem_clock_mhz = value;
  else
    mark_unavailable(out, "mem_clock_mhz", describe(r));
  r = api_->get_power_mw ? api_->get_power_mw(handle, &value) : nvml::kErrorFunctionNotFound;
  if (r == nvml::kSuccess)
    out.power_w = value / 1000.0;
  else
    mark_unavailable(out, "power_w", describe(r));
  unsigned long long energy_mj = 0;
  r = api_->get_energy_mj ? api_->get_energy_mj(handle, &energy_mj) : nvml::kErrorFunctionNotFound;
  if (r == nvml::kSuccess)
    out.energy_j = static_cast<double>(energy_mj) / 1000.0;
  else
    mark_unavailable(out, "energy_j", describe(r));
}

void NvmlBackend::refresh(std::size_t device, int64_t, GpuSample& out) {
  nvml::Device handle = handles_.at(device);
  unsigned int value = 0;
  nvml::Return r = api_->get_temperature
                       ? api_->get_temperature(handle, nvml::kTemperatureGpu, &value)
                       : nvml::kErrorFunctionNotFound;
  if (r == nvml::kSuccess)
    out.temp_c = value;
  else
    mark_unavailable(out, "temp_c", describe(r));
  nvml::Utilization util{};
  r = api_->get_utilization ? api_->get_utilization(handle, &util) : nvml::kErrorFunctionNotFound;
  if (r == nvml::kSuccess)
    out.util_pct = util.gpu;
  else
    mark_unavailable(out, "util_pct", describe(r));
  mark_unavailable(out, "temp_junction_c", "NVML reports no hotspot temperature");
  mark_unavailable(out, "temp_mem_c", "not read through NVML");
  read_memory(handle, out);
  read_clocks_and_power(handle, out);
  read_fan(handle, out);
}

void NvmlBackend::shutdown() {
  if (initialised_ && api_->shutdown != nullptr) api_->shutdown();
  initialised_ = false;
}

}  // namespace nightshift::telemetry
