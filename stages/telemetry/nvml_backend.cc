#include "stages/telemetry/nvml_backend.h"

namespace nightshift::telemetry {

struct NvmlBackend::Api {
  nvml::Return (*init_v2)() = nullptr;
  nvml::Return (*shutdown)() = nullptr;
  const char* (*error_string)(nvml::Return) = nullptr;
  nvml::Return (*get_count_v2)(unsigned int*) = nullptr;
  nvml::Return (*get_handle_v2)(unsigned int, nvml::Device*) = nullptr;
  nvml::Return (*get_name)(nvml::Device, char*, unsigned int) = nullptr;
  nvml::Return (*get_pci_v3)(nvml::Device, nvml::PciInfo*) = nullptr;
  nvml::Return (*get_memory_v2)(nvml::Device, nvml::MemoryV2*) = nullptr;
  nvml::Return (*get_memory_v1)(nvml::Device, nvml::MemoryV1*) = nullptr;
  nvml::Return (*get_temperature)(nvml::Device, unsigned int, unsigned int*) = nullptr;
  nvml::Return (*get_utilization)(nvml::Device, nvml::Utilization*) = nullptr;
  nvml::Return (*get_clock)(nvml::Device, unsigned int, unsigned int*) = nullptr;
  nvml::Return (*get_power_mw)(nvml::Device, unsigned int*) = nullptr;
  nvml::Return (*get_energy_mj)(nvml::Device, unsigned long long*) = nullptr;
  nvml::Return (*get_fan_pct)(nvml::Device, unsigned int*) = nullptr;
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
  if (r != nvml::kSuccess) return make_error("nvmlInit_v2 failed: " + describe(r));
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
  if (api_->get_memory_v2 != nullptr) {
    nvml::MemoryV2 v2{};
    v2.version = nvml::kMemoryV2Version;
    nvml::Return r = api_->get_memory_v2(handle, &v2);
    if (r == nvml::kSuccess) {
      auto use = nvml::memory_use(v2);
      out.mem_used_bytes = use.used_bytes;
      out.mem_total_bytes = use.total_bytes;
      return;
    }
    if (!nvml::should_fall_back_to_v1(r)) {
      mark_unavailable(out, "mem_used_bytes", describe(r));
      return;
    }
  }
  nvml::MemoryV1 v1{};
  nvml::Return r = api_->get_memory_v1(handle, &v1);
  if (r != nvml::kSuccess) {
    mark_unavailable(out, "mem_used_bytes", describe(r));
    return;
  }
  auto use = nvml::memory_use(v1);
  out.mem_used_bytes = use.used_bytes;
  out.mem_total_bytes = use.total_bytes;
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
  read_memory(handle, out);
  read_clocks_and_power(handle, out);
  r = api_->get_fan_pct ? api_->get_fan_pct(handle, &value) : nvml::kErrorFunctionNotFound;
  if (r == nvml::kSuccess)
    out.fan_pct = value;
  else
    mark_unavailable(out, "fan_pct", describe(r));
  mark_unavailable(out, "fan_rpm", "NVML reports fan speed in percent only");
}

void NvmlBackend::shutdown() {
  if (initialised_ && api_->shutdown != nullptr) api_->shutdown();
  initialised_ = false;
}

}  // namespace nightshift::telemetry
