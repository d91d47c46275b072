#include "stages/telemetry/levelzero_backend.h"

#include <level_zero/zes_api.h>

#include <cstdio>
#include <cstdlib>

#include "stages/telemetry/counter_rates.h"

namespace nightshift::telemetry {
namespace {

// Enumerates handles with the two-call Level Zero idiom.
template <typename Handle, typename Fn>
std::vector<Handle> enumerate(Fn fn, zes_device_handle_t device) {
  uint32_t count = 0;
  if (fn == nullptr || fn(device, &count, nullptr) != ZE_RESULT_SUCCESS || count == 0) return {};
  std::vector<Handle> handles(count);
  if (fn(device, &count, handles.data()) != ZE_RESULT_SUCCESS) return {};
  handles.resize(count);
  return handles;
}

}  // namespace

std::string ze_result_text(uint32_t result) {
  switch (result) {
    case ZE_RESULT_SUCCESS:
      return "ZE_RESULT_SUCCESS";
    case ZE_RESULT_ERROR_UNINITIALIZED:
      return "ZE_RESULT_ERROR_UNINITIALIZED (no Level Zero driver)";
    case ZE_RESULT_ERROR_DEPENDENCY_UNAVAILABLE:
      return "ZE_RESULT_ERROR_DEPENDENCY_UNAVAILABLE (the driver cannot read this sensor)";
    case ZE_RESULT_ERROR_INSUFFICIENT_PERMISSIONS:
      return "ZE_RESULT_ERROR_INSUFFICIENT_PERMISSIONS (permission denied; needs root or "
             "perf_event_paranoid <= 0)";
    case ZE_RESULT_ERROR_UNSUPPORTED_FEATURE:
      return "ZE_RESULT_ERROR_UNSUPPORTED_FEATURE";
    case ZE_RESULT_ERROR_NOT_AVAILABLE:
      return "ZE_RESULT_ERROR_NOT_AVAILABLE";
    case ZE_RESULT_ERROR_UNKNOWN:
      return "ZE_RESULT_ERROR_UNKNOWN";
    default: {
      char hex[16];
      std::snprintf(hex, sizeof hex, "0x%08x", result);
      return std::string("ze_result_t ") + hex;
    }
  }
}

struct LevelZeroBackend::Api {
  decltype(&::zeInit) ze_init = nullptr;
  ze_result_t (*zes_init)(uint32_t flags) = nullptr;  // loader >= 1.10 only
  decltype(&::zeDriverGet) driver_get = nullptr;
  decltype(&::zeDeviceGet) device_get = nullptr;
  decltype(&::zesDeviceGetProperties) device_properties = nullptr;
  decltype(&::zesDevicePciGetProperties) pci_properties = nullptr;
  decltype(&::zesDeviceEnumTemperatureSensors) enum_temps = nullptr;
  decltype(&::zesTemperatureGetProperties) temp_properties = nullptr;
  decltype(&::zesTemperatureGetState) temp_state = nullptr;
  decltype(&::zesDeviceEnumPowerDomains) enum_power = nullptr;
  decltype(&::zesPowerGetEnergyCounter) energy_counter = nullptr;
  decltype(&::zesDeviceEnumMemoryModules) enum_memory = nullptr;
  decltype(&::zesMemoryGetProperties) memory_properties = nullptr;
  decltype(&::zesMemoryGetState) memory_state = nullptr;
  decltype(&::zesDeviceEnumFrequencyDomains) enum_freq = nullptr;
  decltype(&::zesFrequencyGetProperties) freq_properties = nullptr;
  decltype(&::zesFrequencyGetState) freq_state = nullptr;
  decltype(&::zesDeviceEnumEngineGroups) enum_engines = nullptr;
  decltype(&::zesEngineGetProperties) engine_properties = nullptr;
  decltype(&::zesEngineGetActivity) engine_activity = nullptr;
  decltype(&::zesDeviceEnumFans) enum_fans = nullptr;
  decltype(&::zesFanGetState) fan_state = nullptr;
};

struct LevelZeroBackend::Device {
  zes_device_handle_t handle = nullptr;
  std::vector<zes_temp_handle_t> gpu_temps;
  std::vector<zes_temp_handle_t> mem_temps;
  std::vector<zes_pwr_handle_t> power;
  std::vector<zes_mem_handle_t> memory;
  std::optional<zes_freq_handle_t> gpu_freq;
  std::optional<zes_freq_handle_t> mem_freq;
  std::optional<zes_engine_handle_t> engine;  // the all-engines group where offered
  std::vector<zes_fan_handle_t> fans;
  CounterRate energy_rate{power_w_from_energy};
  CounterRate activity_rate{busy_pct_from_activity};
};

LevelZeroBackend::LevelZeroBackend(std::string library)
    : library_name_(std::move(library)), api_(std::make_unique<Api>()) {}

LevelZeroBackend::~LevelZeroBackend() = default;

Status LevelZeroBackend::load_api() {
  auto library = SharedLibrary::open(library_name_);
  if (!library) return library.take_error();
  library_.emplace(std::move(*library));
  const SharedLibrary& l = *library_;
  Api& a = *api_;
  bool ok = l.load("zeInit", a.ze_init) && l.load("zeDriverGet", a.driver_get) &&
            l.load("zeDeviceGet", a.device_get) &&
            l.load("zesDeviceGetProperties", a.device_properties);
  if (!ok) return make_error("library too old: " + library_name_ + " lacks Sysman entry points");
  l.load("zesInit", a.zes_init);
  l.load("zesDevicePciGetProperties", a.pci_properties);
  l.load("zesDeviceEnumTemperatureSensors", a.enum_temps);
  l.load("zesTemperatureGetProperties", a.temp_properties);
  l.load("zesTemperatureGetState", a.temp_state);
  l.load("zesDeviceEnumPowerDomains", a.enum_power);
  l.load("zesPowerGetEnergyCounter", a.energy_counter);
  l.load("zesDeviceEnumMemoryModules", a.enum_memory);
  l.load("zesMemoryGetProperties", a.memory_properties);
  l.load("zesMemoryGetState", a.memory_state);
  l.load("zesDeviceEnumFrequencyDomains", a.enum_freq);
  l.load("zesFrequencyGetProperties", a.freq_properties);
  l.load("zesFrequencyGetState", a.freq_state);
  l.load("zesDeviceEnumEngineGroups", a.enum_engines);
  l.load("zesEngineGetProperties", a.engine_properties);
  l.load("zesEngineGetActivity", a.engine_activity);
  l.load("zesDeviceEnumFans", a.enum_fans);
  l.load("zesFanGetState", a.fan_state);
  return Status::success();
}

Status LevelZeroBackend::initialise_driver() {
  QuietStderr quiet;  // the loader reports missing drivers on stderr
  void* zes_driver_get = library_->find("zesDriverGet");
  void* zes_device_get = library_->find("zesDeviceGet");
  if (api_->zes_init != nullptr && zes_driver_get != nullptr && zes_device_get != nullptr) {
    ze_result_t r = api_->zes_init(0);
    if (r != ZE_RESULT_SUCCESS)
      return make_error("no device: zesInit failed: " + ze_result_text(r));
    // zes_driver/device handles are opaque pointers like their ze_ twins;
    // the signatures differ only in the handle's name.
    api_->driver_get = reinterpret_cast<decltype(api_->driver_get)>(zes_driver_get);
    api_->device_get = reinterpret_cast<decltype(api_->device_get)>(zes_device_get);
    return Status::success();
  }
  // The 1.8 loader has no zesInit: Sysman rides on zeInit when this is set.
  ::setenv("ZES_ENABLE_SYSMAN", "1", 0);
  ze_result_t r = api_->ze_init(ZE_INIT_FLAG_GPU_ONLY);
  if (r != ZE_RESULT_SUCCESS) return make_error("no device: zeInit failed: " + ze_result_text(r));
  return Status::success();
}

Status LevelZeroBackend::init() {
  if (Status loaded = load_api(); !loaded) return loaded;
  if (Status driver = initialise_driver(); !driver) return driver;
  uint32_t driver_count = 0;
  if (api_->driver_get(&driver_count, nullptr) != ZE_RESULT_SUCCESS || driver_count == 0) {
    return make_error("no device: no Level Zero driver");
  }
  std::vector<ze_driver_handle_t> drivers(driver_count);
  api_->driver_get(&driver_count, drivers.data());
  for (auto driver : drivers) {
    uint32_t count = 0;
    if (api_->device_get(driver, &count, nullptr) != ZE_RESULT_SUCCESS) continue;
    std::vector<ze_device_handle_t> handles(count);
    if (api_->device_get(driver, &count, handles.data()) != ZE_RESULT_SUCCESS) continue;
    for (auto h : handles) add_device(h);
  }
  if (state_.empty()) return make_error("no device: Level Zero found no GPU");
  return Status::success();
}

void LevelZeroBackend::add_device(void* raw) {
  auto d = std::make_unique<Device>();
  d->handle = static_cast<zes_device_handle_t>(raw);
  GpuDeviceInfo info;
  zes_device_properties_t props{};
  props.stype = ZES_STRUCTURE_TYPE_DEVICE_PROPERTIES;
  props.core.stype = ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES;
  if (api_->device_properties(d->handle, &props) == ZE_RESULT_SUCCESS) info.name = props.core.name;
  zes_pci_properties_t pci{};
  pci.stype = ZES_STRUCTURE_TYPE_PCI_PROPERTIES;
  if (api_->pci_properties && api_->pci_properties(d->handle, &pci) == ZE_RESULT_SUCCESS) {
    char bus_id[32];
    std::snprintf(bus_id, sizeof bus_id, "%04x:%02x:%02x.%x", pci.address.domain, pci.address.bus,
                  pci.address.device, pci.address.function);
    info.pci_bus_id = bus_id;
  }
  for (auto t : enumerate<zes_temp_handle_t>(api_->enum_temps, d->handle)) {
    zes_temp_properties_t tp{};
    tp.stype = ZES_STRUCTURE_TYPE_TEMP_PROPERTIES;
    if (api_->temp_properties(t, &tp) != ZE_RESULT_SUCCESS) continue;
    if (tp.type == ZES_TEMP_SENSORS_GPU) d->gpu_temps.push_back(t);
    if (tp.type == ZES_TEMP_SENSORS_MEMORY) d->mem_temps.push_back(t);
  }
  d->power = enumerate<zes_pwr_handle_t>(api_->enum_power, d->handle);
  d->memory = enumerate<zes_mem_handle_t>(api_->enum_memory, d->handle);
  for (auto f : enumerate<zes_freq_handle_t>(api_->enum_freq, d->handle)) {
    zes_freq_properties_t fp{};
    fp.stype = ZES_STRUCTURE_TYPE_FREQ_PROPERTIES;
    if (api_->freq_properties(f, &fp) != ZE_RESULT_SUCCESS) continue;
    if (fp.type == ZES_FREQ_DOMAIN_GPU && !d->gpu_freq) d->gpu_freq = f;
    if (fp.type == ZES_FREQ_DOMAIN_MEMORY && !d->mem_freq) d->mem_freq = f;
  }
  for (auto e : enumerate<zes_engine_handle_t>(api_->enum_engines, d->handle)) {
    zes_engine_properties_t ep{};
    ep.stype = ZES_STRUCTURE_TYPE_ENGINE_PROPERTIES;
    if (api_->engine_properties(e, &ep) != ZE_RESULT_SUCCESS) continue;
    if (ep.type == ZES_ENGINE_GROUP_ALL) d->engine = e;
    if (ep.type == ZES_ENGINE_GROUP_COMPUTE_ALL && !d->engine) d->engine = e;
  }
  d->fans = enumerate<zes_fan_handle_t>(api_->enum_fans, d->handle);
  devices_.push_back(info);
  state_.push_back(std::move(d));
}

void LevelZeroBackend::refresh(std::size_t device, int64_t, GpuSample& out) {
  Device& d = *state_.at(device);
  read_temperature(d, out);
  read_power(d, out);
  read_memory(d, out);
  read_frequency(d, out);
  read_activity(d, out);
  read_fan(d, out);
}

void LevelZeroBackend::read_temperature(Device& d, GpuSample& out) {
  auto read_max = [&](const std::vector<zes_temp_handle_t>& sensors, std::optional<double>& field,
                      const char* name) {
    if (sensors.empty()) return mark_unavailable(out, name, "no such sensor");
    for (auto t : sensors) {
      double celsius = 0;
      ze_result_t r = api_->temp_state(t, &celsius);
      if (r != ZE_RESULT_SUCCESS) return mark_unavailable(out, name, ze_result_text(r));
      if (!field || celsius > *field) field = celsius;
    }
  };
  read_max(d.gpu_temps, out.temp_c, "temp_c");
  if (!d.mem_temps.empty()) read_max(d.mem_temps, out.temp_mem_c, "temp_mem_c");
}

void LevelZeroBackend::read_power(Device& d, GpuSample& out) {
  if (d.power.empty()) return mark_unavailable(out, "power_w", "no power domain");
  zes_power_energy_counter_t counter{};
  ze_result_t r = api_->energy_counter(d.power.front(), &counter);
  if (r != ZE_RESULT_SUCCESS) return mark_unavailable(out, "power_w", ze_result_text(r));
  out.energy_j = static_cast<double>(counter.energy) / 1e6;
  auto watts = d.energy_rate.update({counter.energy, counter.timestamp});
  if (watts)
    out.power_w = *watts;
  else
    mark_unavailable(out, "power_w", watts.error());
}

void LevelZeroBackend::read_memory(Device& d, GpuSample& out) {
  if (d.memory.empty()) return mark_unavailable(out, "mem_used_bytes", "no memory module");
  uint64_t used = 0, total = 0;
  for (auto m : d.memory) {
    zes_mem_properties_t props{};
    props.stype = ZES_STRUCTURE_TYPE_MEM_PROPERTIES;
    zes_mem_state_t state{};
    state.stype = ZES_STRUCTURE_TYPE_MEM_STATE;
    ze_result_t r = api_->memory_state(m, &state);
    if (r != ZE_RESULT_SUCCESS) return mark_unavailable(out, "mem_used_bytes", ze_result_text(r));
    bool has_props = api_->memory_properties(m, &props) == ZE_RESULT_SUCCESS;
    uint64_t size = has_props && props.physicalSize > 0 ? props.physicalSize : state.size;
    total += size;
    used += size > state.free ? size - state.free : 0;
  }
  out.mem_used_bytes = used;
  out.mem_total_bytes = total;
}

void LevelZeroBackend::read_frequency(Device& d, GpuSample& out) {
  auto read = [&](const std::optional<zes_freq_handle_t>& f, std::optional<double>& field,
                  const char* name) {
    if (!f) return mark_unavailable(out, name, "no such frequency domain");
    zes_freq_state_t state{};
    state.stype = ZES_STRUCTURE_TYPE_FREQ_STATE;
    ze_result_t r = api_->freq_state(*f, &state);
    if (r != ZE_RESULT_SUCCESS) return mark_unavailable(out, name, ze_result_text(r));
    if (state.actual > 0)
      field = state.actual;
    else
      mark_unavailable(out, name, "frequency not reported");
  };
  read(d.gpu_freq, out.sm_clock_mhz, "sm_clock_mhz");
  read(d.mem_freq, out.mem_clock_mhz, "mem_clock_mhz");
}

void LevelZeroBackend::read_activity(Device& d, GpuSample& out) {
  if (!d.engine) return mark_unavailable(out, "util_pct", "no engine group");
  zes_engine_stats_t stats{};
  ze_result_t r = api_->engine_activity(*d.engine, &stats);
  if (r != ZE_RESULT_SUCCESS) return mark_unavailable(out, "util_pct", ze_result_text(r));
  auto busy = d.activity_rate.update({stats.activeTime, stats.timestamp});
  if (busy)
    out.util_pct = *busy;
  else
    mark_unavailable(out, "util_pct", busy.error());
}

void LevelZeroBackend::read_fan(Device& d, GpuSample& out) {
  if (d.fans.empty()) return mark_unavailable(out, "fan_rpm", "no fan reported");
  int32_t rpm = 0;
  ze_result_t r = api_->fan_state(d.fans.front(), ZES_FAN_SPEED_UNITS_RPM, &rpm);
  if (r == ZE_RESULT_SUCCESS && rpm >= 0)
    out.fan_rpm = rpm;
  else
    mark_unavailable(out, "fan_rpm", ze_result_text(r));
}

}  // namespace nightshift::telemetry
