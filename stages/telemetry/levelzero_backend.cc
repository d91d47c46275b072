#include "stages/telemetry/levelzero_backend.h"

#include <level_zero/zes_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "stages/telemetry/counter_rates.h"
#include "stages/telemetry/levelzero_loader_1_10.h"

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
  decltype(&::zesInit) zes_init = nullptr;  // loader >= 1.10 only
  decltype(&::zesDriverGet) zes_driver_get = nullptr;
  decltype(&::zesDeviceGet) zes_device_get = nullptr;
  decltype(&::zeDriverGet) driver_get = nullptr;
  decltype(&::zeDeviceGet) device_get = nullptr;
  decltype(&::zesDeviceGetProperties) device_properties = nullptr;
  decltype(&::zesDevicePciGetProperties) pci_properties = nullptr;
  decltype(&::zesDeviceEnumTemperatureSensors) enum_temps = nullptr;
  decltype(&::zesTemperatureGetProperties) temp_properties = nullptr;
  decltype(&::zesTemperatureGetState) temp_state = nullptr;
  decltype(&::zesDeviceEnumPowerDomains) enum_power = nullptr;
  decltype(&::zesDeviceGetCardPowerDomain) card_power = nullptr;
  decltype(&::zesPowerGetProperties) power_properties = nullptr;
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
  struct Engine {
    zes_engine_handle_t handle;
    CounterRate activity_rate{busy_pct_from_activity};
  };
  zes_device_handle_t handle = nullptr;
  std::vector<zes_temp_handle_t> gpu_temps;
  std::vector<zes_temp_handle_t> mem_temps;
  // The whole card's domain, or else every tile's (their energies add up).
  std::vector<zes_pwr_handle_t> power;
  bool any_memory = false;
  std::vector<zes_mem_handle_t> memory;  // device-local modules, every tile
  std::optional<zes_freq_handle_t> gpu_freq;
  std::optional<zes_freq_handle_t> mem_freq;
  // The device-level all-engines group (or compute group), or else each
  // tile's (their busy percentages are averaged).
  std::vector<Engine> engines;
  std::vector<zes_fan_handle_t> fans;
  CounterRate energy_rate{power_w_from_energy};
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
  l.load("zesDriverGet", a.zes_driver_get);
  l.load("zesDeviceGet", a.zes_device_get);
  l.load("zesDevicePciGetProperties", a.pci_properties);
  l.load("zesDeviceEnumTemperatureSensors", a.enum_temps);
  l.load("zesTemperatureGetProperties", a.temp_properties);
  l.load("zesTemperatureGetState", a.temp_state);
  l.load("zesDeviceEnumPowerDomains", a.enum_power);
  l.load("zesDeviceGetCardPowerDomain", a.card_power);
  l.load("zesPowerGetProperties", a.power_properties);
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
  std::string zes_failure;
  if (api_->zes_init != nullptr && api_->zes_driver_get != nullptr &&
      api_->zes_device_get != nullptr) {
    ze_result_t r = api_->zes_init(0);
    if (r == ZE_RESULT_SUCCESS) {
      // zes_driver/device handles are opaque pointers like their ze_ twins;
      // the signatures differ only in the handle's name.
      api_->driver_get = reinterpret_cast<decltype(api_->driver_get)>(api_->zes_driver_get);
      api_->device_get = reinterpret_cast<decltype(api_->device_get)>(api_->zes_device_get);
      return Status::success();
    }
    zes_failure = "zesInit failed: " + ze_result_text(r) + "; ";
  }
  // The 1.8 loader has no zesInit, and a failing one may still leave this:
  // Sysman rides on zeInit when ZES_ENABLE_SYSMAN is 1. Overwritten, since an
  // inherited 0 would leave the devices without name or PCI id (and the
  // sysfs backend would then serve the same card again).
  ::setenv("ZES_ENABLE_SYSMAN", "1", 1);
  ze_result_t r = api_->ze_init(ZE_INIT_FLAG_GPU_ONLY);
  if (r != ZE_RESULT_SUCCESS)
    return make_error("no device: " + zes_failure + "zeInit failed: " + ze_result_text(r));
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
  find_power_domains(*d);
  for (auto m : enumerate<zes_mem_handle_t>(api_->enum_memory, d->handle)) {
    d->any_memory = true;
    zes_mem_properties_t mp{};
    mp.stype = ZES_STRUCTURE_TYPE_MEM_PROPERTIES;
    // A ZES_MEM_LOC_SYSTEM module is host memory, not VRAM.
    if (api_->memory_properties && api_->memory_properties(m, &mp) == ZE_RESULT_SUCCESS &&
        mp.location == ZES_MEM_LOC_DEVICE)
      d->memory.push_back(m);
  }
  for (auto f : enumerate<zes_freq_handle_t>(api_->enum_freq, d->handle)) {
    zes_freq_properties_t fp{};
    fp.stype = ZES_STRUCTURE_TYPE_FREQ_PROPERTIES;
    if (api_->freq_properties(f, &fp) != ZE_RESULT_SUCCESS) continue;
    if (fp.type == ZES_FREQ_DOMAIN_GPU && !d->gpu_freq) d->gpu_freq = f;
    if (fp.type == ZES_FREQ_DOMAIN_MEMORY && !d->mem_freq) d->mem_freq = f;
  }
  find_engine_groups(*d);
  d->fans = enumerate<zes_fan_handle_t>(api_->enum_fans, d->handle);
  devices_.push_back(info);
  state_.push_back(std::move(d));
}

// The card's power domain: zesDeviceGetCardPowerDomain (1.8 loader), else an
// enumerated domain not on a sub-device, else every tile's domain. The first
// enumerated domain may be one tile's on multi-tile parts.
void LevelZeroBackend::find_power_domains(Device& d) {
  zes_pwr_handle_t card = nullptr;
  if (api_->card_power && api_->card_power(d.handle, &card) == ZE_RESULT_SUCCESS && card) {
    d.power = {card};
    return;
  }
  auto domains = enumerate<zes_pwr_handle_t>(api_->enum_power, d.handle);
  for (auto p : domains) {
    zes_power_properties_t pp{};
    pp.stype = ZES_STRUCTURE_TYPE_POWER_PROPERTIES;
    if (api_->power_properties && api_->power_properties(p, &pp) == ZE_RESULT_SUCCESS &&
        !pp.onSubdevice) {
      d.power = {p};
      return;
    }
  }
  d.power = domains;
}

// The device-level all-engines group, else its compute group, else every
// tile's all-engines (or compute) group.
void LevelZeroBackend::find_engine_groups(Device& d) {
  // Ranks: device all, device compute, tile all, tile compute.
  std::vector<zes_engine_handle_t> by_rank[4];
  for (auto e : enumerate<zes_engine_handle_t>(api_->enum_engines, d.handle)) {
    zes_engine_properties_t ep{};
    ep.stype = ZES_STRUCTURE_TYPE_ENGINE_PROPERTIES;
    if (api_->engine_properties(e, &ep) != ZE_RESULT_SUCCESS) continue;
    if (ep.type != ZES_ENGINE_GROUP_ALL && ep.type != ZES_ENGINE_GROUP_COMPUTE_ALL) continue;
    by_rank[(ep.onSubdevice ? 2 : 0) + (ep.type == ZES_ENGINE_GROUP_ALL ? 0 : 1)].push_back(e);
  }
  for (int rank = 0; rank < 4; ++rank) {
    if (by_rank[rank].empty()) continue;
    if (rank < 2) return d.engines.push_back(Device::Engine{by_rank[rank].front()});
    for (auto e : by_rank[rank]) d.engines.push_back(Device::Engine{e});
    return;
  }
}

void LevelZeroBackend::refresh(std::size_t device, int64_t, GpuSample& out) {
  Device& d = *state_.at(device);
  read_temperature(d, out);
  mark_unavailable(out, "temp_junction_c", "Level Zero reports no hotspot temperature");
  read_power(d, out);
  read_memory(d, out);
  read_frequency(d, out);
  read_activity(d, out);
  read_fan(d, out);
}

// The hottest sensor that answered; unavailable only if none did.
void LevelZeroBackend::read_temperature(Device& d, GpuSample& out) {
  auto read_max = [&](const std::vector<zes_temp_handle_t>& sensors, std::optional<double>& field,
                      const char* name) {
    if (sensors.empty()) return mark_unavailable(out, name, "no such sensor");
    std::string failure;
    for (auto t : sensors) {
      double celsius = 0;
      ze_result_t r = api_->temp_state(t, &celsius);
      if (r != ZE_RESULT_SUCCESS && failure.empty()) failure = ze_result_text(r);
      if (r == ZE_RESULT_SUCCESS && (!field || celsius > *field)) field = celsius;
    }
    if (!field) mark_unavailable(out, name, failure);
  };
  read_max(d.gpu_temps, out.temp_c, "temp_c");
  read_max(d.mem_temps, out.temp_mem_c, "temp_mem_c");
}

void LevelZeroBackend::read_power(Device& d, GpuSample& out) {
  auto fail = [&](const std::string& why) {
    mark_unavailable(out, "power_w", why);
    mark_unavailable(out, "energy_j", why);
  };
  if (d.power.empty()) return fail("no power domain");
  CounterReading total;
  for (auto p : d.power) {
    zes_power_energy_counter_t counter{};
    ze_result_t r = api_->energy_counter(p, &counter);
    if (r != ZE_RESULT_SUCCESS) return fail(ze_result_text(r));
    total.value += counter.energy;
    total.timestamp_us = std::max<uint64_t>(total.timestamp_us, counter.timestamp);
  }
  out.energy_j = static_cast<double>(total.value) / 1e6;
  auto watts = d.energy_rate.update(total);
  if (watts)
    out.power_w = *watts;
  else
    mark_unavailable(out, "power_w", watts.error());
}

// used = size - free per device-local module (zes_mem_state_t defines free
// against the allocatable size, which may be less than physicalSize).
void LevelZeroBackend::read_memory(Device& d, GpuSample& out) {
  auto fail = [&](const std::string& why) {
    mark_unavailable(out, "mem_used_bytes", why);
    mark_unavailable(out, "mem_total_bytes", why);
  };
  if (d.memory.empty())
    return fail(d.any_memory ? "no device-local memory module" : "no memory module");
  uint64_t used = 0, total = 0;
  for (auto m : d.memory) {
    zes_mem_state_t state{};
    state.stype = ZES_STRUCTURE_TYPE_MEM_STATE;
    ze_result_t r = api_->memory_state(m, &state);
    if (r != ZE_RESULT_SUCCESS) return fail(ze_result_text(r));
    total += state.size;
    used += state.size > state.free ? state.size - state.free : 0;
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
  if (d.engines.empty()) return mark_unavailable(out, "util_pct", "no engine group");
  double sum = 0;
  std::string failure;
  for (auto& engine : d.engines) {  // every one, so each rate keeps its previous reading
    zes_engine_stats_t stats{};
    ze_result_t r = api_->engine_activity(engine.handle, &stats);
    if (r != ZE_RESULT_SUCCESS) {
      if (failure.empty()) failure = ze_result_text(r);
      continue;
    }
    auto busy = engine.activity_rate.update({stats.activeTime, stats.timestamp});
    if (busy)
      sum += *busy;
    else if (failure.empty())
      failure = busy.error();
  }
  if (failure.empty())
    out.util_pct = sum / static_cast<double>(d.engines.size());
  else
    mark_unavailable(out, "util_pct", failure);
}

void LevelZeroBackend::read_fan(Device& d, GpuSample& out) {
  auto read = [&](zes_fan_speed_units_t units, std::optional<double>& field, const char* name) {
    if (d.fans.empty()) return mark_unavailable(out, name, "no fan reported");
    int32_t speed = 0;
    ze_result_t r = api_->fan_state(d.fans.front(), units, &speed);
    if (r != ZE_RESULT_SUCCESS) return mark_unavailable(out, name, ze_result_text(r));
    if (speed < 0) return mark_unavailable(out, name, "fan speed cannot be measured");
    field = speed;
  };
  read(ZES_FAN_SPEED_UNITS_RPM, out.fan_rpm, "fan_rpm");
  read(ZES_FAN_SPEED_UNITS_PERCENT, out.fan_pct, "fan_pct");
}

}  // namespace nightshift::telemetry
