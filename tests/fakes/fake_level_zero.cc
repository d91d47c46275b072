// A fake Level Zero loader (libze_loader.so.1): the ze*/zes* entry points
// the backend loads, with the prototypes of the packaged ze_api.h/zes_api.h,
// answering from the script named by NIGHTSHIFT_FAKE_LEVEL_ZERO. As in the
// real driver, Sysman calls answer ZE_RESULT_ERROR_UNINITIALIZED unless
// zesInit succeeded or zeInit ran with ZES_ENABLE_SYSMAN=1. Built twice:
// with zesInit (loader >= 1.10) and without (FAKE_LOADER_1_8). Keys:
//   zes_init, ze_init (statuses; absent: success), count;
//   per device N: N.name, N.pci ("0000:03:00.0"),
//   N.temps ("gpu gpu memory") with N.temp.<i> (°C),
//   N.power ("card tile0 tile1": enumerated domains), N.card_power (status of
//   zesDeviceGetCardPowerDomain; absent: unsupported) with N.energy.<domain>
//   (µJ) and N.energy_ts.<domain> (µs),
//   N.memory ("device@tile0 device@tile1 system") with N.mem.<i>.physical,
//   .size, .free, N.freqs ("gpu memory") with N.freq.<i>.actual (MHz),
//   N.engines ("all all@tile0 compute_all") with N.engine.<i>.active and .ts
//   (µs), N.fans (count) with N.fan.rpm, N.fan.pct.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>

#include "stages/telemetry/levelzero_loader_1_10.h"
#include "tests/fakes/fake_script.h"

using nightshift::fake::Answer;
using nightshift::fake::FakeScript;

namespace {

// What every handle points at: a component of one device.
struct Component {
  uint32_t device;
  uint32_t index;
  std::string word;  // its token in the script ("tile1", "device@tile0", ...)
};

FakeScript g_script(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE);
bool g_sysman = false;
std::deque<Component> g_components;
int g_driver = 0;

std::string key(uint32_t device, const std::string& field) {
  return std::to_string(device) + "." + field;
}

Component& of(const void* handle) { return *static_cast<Component*>(const_cast<void*>(handle)); }

template <typename Handle>
Handle make_handle(uint32_t device, uint32_t index, const std::string& word) {
  g_components.push_back(Component{device, index, word});
  return reinterpret_cast<Handle>(&g_components.back());
}

ze_result_t status_of(const Answer& a) {
  return a.status ? static_cast<ze_result_t>(*a.status) : ZE_RESULT_SUCCESS;
}

// The two-call idiom over the words of N.<list>.
template <typename Handle>
ze_result_t enumerate(zes_device_handle_t device, const char* list, uint32_t* count, Handle* out) {
  if (!g_sysman) return ZE_RESULT_ERROR_UNINITIALIZED;
  uint32_t dv = of(device).device;
  auto words = g_script.words(key(dv, list));
  if (out == nullptr || *count == 0) {
    *count = static_cast<uint32_t>(words.size());
    return ZE_RESULT_SUCCESS;
  }
  *count = std::min<uint32_t>(*count, static_cast<uint32_t>(words.size()));
  for (uint32_t i = 0; i < *count; ++i) out[i] = make_handle<Handle>(dv, i, words[i]);
  return ZE_RESULT_SUCCESS;
}

// The tile a word names ("tile1", "all@tile1"), or -1 for the whole device.
int tile_of(const std::string& word) {
  auto at = word.find("tile");
  return at == std::string::npos ? -1 : std::atoi(word.c_str() + at + 4);
}

void set_subdevice(ze_bool_t& on_subdevice, uint32_t& subdevice_id, const std::string& word) {
  int tile = tile_of(word);
  on_subdevice = tile >= 0;
  subdevice_id = tile >= 0 ? static_cast<uint32_t>(tile) : 0;
}

// N.<prefix>.<i>.<field> of a component, as an unsigned number.
ze_result_t read_u64(const Component& c, const std::string& name, uint64_t& out) {
  Answer a = g_script.next(key(c.device, name));
  out = a.unsigned_integer();
  return status_of(a);
}

}  // namespace

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

#ifndef FAKE_LOADER_1_8  // the 1.8 loader has no zesInit, zesDriverGet, zesDeviceGet
FAKE_EXPORT ze_result_t zesInit(uint32_t) {
  if (!g_script.load("NIGHTSHIFT_FAKE_LEVEL_ZERO")) return ZE_RESULT_ERROR_UNINITIALIZED;
  g_components.clear();
  ze_result_t r =
      g_script.has("zes_init") ? status_of(g_script.next("zes_init")) : ZE_RESULT_SUCCESS;
  g_sysman = r == ZE_RESULT_SUCCESS;
  return r;
}

#endif

FAKE_EXPORT ze_result_t zeInit(ze_init_flags_t) {
  if (!g_script.load("NIGHTSHIFT_FAKE_LEVEL_ZERO")) return ZE_RESULT_ERROR_UNINITIALIZED;
  g_components.clear();
  ze_result_t r = g_script.has("ze_init") ? status_of(g_script.next("ze_init")) : ZE_RESULT_SUCCESS;
  const char* sysman = std::getenv("ZES_ENABLE_SYSMAN");
  g_sysman = r == ZE_RESULT_SUCCESS && sysman != nullptr && std::strcmp(sysman, "1") == 0;
  return r;
}

FAKE_EXPORT ze_result_t zeDriverGet(uint32_t* count, ze_driver_handle_t* drivers) {
  if (drivers != nullptr && *count > 0)
    drivers[0] = reinterpret_cast<ze_driver_handle_t>(&g_driver);
  *count = 1;
  return ZE_RESULT_SUCCESS;
}

#ifndef FAKE_LOADER_1_8
FAKE_EXPORT ze_result_t zesDriverGet(uint32_t* count, zes_driver_handle_t* drivers) {
  if (!g_sysman) return ZE_RESULT_ERROR_UNINITIALIZED;
  return zeDriverGet(count, drivers);
}
#endif

FAKE_EXPORT ze_result_t zeDeviceGet(ze_driver_handle_t, uint32_t* count,
                                    ze_device_handle_t* devices) {
  auto n = static_cast<uint32_t>(g_script.integer_or("count", 0));
  if (devices == nullptr || *count == 0) {
    *count = n;
    return ZE_RESULT_SUCCESS;
  }
  *count = std::min(*count, n);
  for (uint32_t i = 0; i < *count; ++i) devices[i] = make_handle<ze_device_handle_t>(i, i, "");
  return ZE_RESULT_SUCCESS;
}

#ifndef FAKE_LOADER_1_8
FAKE_EXPORT ze_result_t zesDeviceGet(zes_driver_handle_t driver, uint32_t* count,
                                     zes_device_handle_t* devices) {
  if (!g_sysman) return ZE_RESULT_ERROR_UNINITIALIZED;
  return zeDeviceGet(driver, count, devices);
}
#endif

FAKE_EXPORT ze_result_t zesDeviceGetProperties(zes_device_handle_t device,
                                               zes_device_properties_t* props) {
  if (!g_sysman) return ZE_RESULT_ERROR_UNINITIALIZED;
  Answer a = g_script.next(key(of(device).device, "name"));
  if (a.status) return status_of(a);
  std::snprintf(props->core.name, sizeof props->core.name, "%s", a.text.c_str());
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zesDevicePciGetProperties(zes_device_handle_t device,
                                                  zes_pci_properties_t* props) {
  if (!g_sysman) return ZE_RESULT_ERROR_UNINITIALIZED;
  Answer a = g_script.next(key(of(device).device, "pci"));
  if (a.status) return status_of(a);
  zes_pci_address_t& p = props->address;
  if (std::sscanf(a.text.c_str(), "%x:%x:%x.%x", &p.domain, &p.bus, &p.device, &p.function) != 4)
    return ZE_RESULT_ERROR_UNKNOWN;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zesDeviceEnumTemperatureSensors(zes_device_handle_t device, uint32_t* count,
                                                        zes_temp_handle_t* out) {
  return enumerate(device, "temps", count, out);
}

FAKE_EXPORT ze_result_t zesTemperatureGetProperties(zes_temp_handle_t t,
                                                    zes_temp_properties_t* props) {
  const Component& c = of(t);
  props->type = c.word == "memory" ? ZES_TEMP_SENSORS_MEMORY
                : c.word == "gpu"  ? ZES_TEMP_SENSORS_GPU
                                   : ZES_TEMP_SENSORS_GLOBAL;
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zesTemperatureGetState(zes_temp_handle_t t, double* celsius) {
  const Component& c = of(t);
  Answer a = g_script.next(key(c.device, "temp." + std::to_string(c.index)));
  *celsius = a.real();
  return status_of(a);
}

FAKE_EXPORT ze_result_t zesDeviceEnumPowerDomains(zes_device_handle_t device, uint32_t* count,
                                                  zes_pwr_handle_t* out) {
  return enumerate(device, "power", count, out);
}

FAKE_EXPORT ze_result_t zesDeviceGetCardPowerDomain(zes_device_handle_t device,
                                                    zes_pwr_handle_t* out) {
  if (!g_sysman) return ZE_RESULT_ERROR_UNINITIALIZED;
  uint32_t dv = of(device).device;
  ze_result_t r = status_of(g_script.next(key(dv, "card_power")));
  if (r == ZE_RESULT_SUCCESS) *out = make_handle<zes_pwr_handle_t>(dv, 99, "card");
  return r;
}

FAKE_EXPORT ze_result_t zesPowerGetProperties(zes_pwr_handle_t p, zes_power_properties_t* props) {
  set_subdevice(props->onSubdevice, props->subdeviceId, of(p).word);
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zesPowerGetEnergyCounter(zes_pwr_handle_t p,
                                                 zes_power_energy_counter_t* energy) {
  const Component& c = of(p);
  if (ze_result_t r = read_u64(c, "energy." + c.word, energy->energy); r != ZE_RESULT_SUCCESS)
    return r;
  return read_u64(c, "energy_ts." + c.word, energy->timestamp);
}

FAKE_EXPORT ze_result_t zesDeviceEnumMemoryModules(zes_device_handle_t device, uint32_t* count,
                                                   zes_mem_handle_t* out) {
  return enumerate(device, "memory", count, out);
}

FAKE_EXPORT ze_result_t zesMemoryGetProperties(zes_mem_handle_t m, zes_mem_properties_t* props) {
  const Component& c = of(m);
  props->type = ZES_MEM_TYPE_HBM;
  props->location = c.word.rfind("system", 0) == 0 ? ZES_MEM_LOC_SYSTEM : ZES_MEM_LOC_DEVICE;
  set_subdevice(props->onSubdevice, props->subdeviceId, c.word);
  // 0 when unscripted: "not known" in the header's words.
  props->physicalSize = static_cast<uint64_t>(
      g_script.integer_or(key(c.device, "mem." + std::to_string(c.index) + ".physical"), 0));
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zesMemoryGetState(zes_mem_handle_t m, zes_mem_state_t* state) {
  const Component& c = of(m);
  std::string prefix = "mem." + std::to_string(c.index);
  state->health = ZES_MEM_HEALTH_OK;
  if (ze_result_t r = read_u64(c, prefix + ".size", state->size); r != ZE_RESULT_SUCCESS) return r;
  return read_u64(c, prefix + ".free", state->free);
}

FAKE_EXPORT ze_result_t zesDeviceEnumFrequencyDomains(zes_device_handle_t device, uint32_t* count,
                                                      zes_freq_handle_t* out) {
  return enumerate(device, "freqs", count, out);
}

FAKE_EXPORT ze_result_t zesFrequencyGetProperties(zes_freq_handle_t f,
                                                  zes_freq_properties_t* props) {
  const Component& c = of(f);
  props->type = c.word.rfind("memory", 0) == 0 ? ZES_FREQ_DOMAIN_MEMORY : ZES_FREQ_DOMAIN_GPU;
  set_subdevice(props->onSubdevice, props->subdeviceId, c.word);
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zesFrequencyGetState(zes_freq_handle_t f, zes_freq_state_t* state) {
  const Component& c = of(f);
  Answer a = g_script.next(key(c.device, "freq." + std::to_string(c.index) + ".actual"));
  state->actual = a.real();
  state->request = -1;
  return status_of(a);
}

FAKE_EXPORT ze_result_t zesDeviceEnumEngineGroups(zes_device_handle_t device, uint32_t* count,
                                                  zes_engine_handle_t* out) {
  return enumerate(device, "engines", count, out);
}

FAKE_EXPORT ze_result_t zesEngineGetProperties(zes_engine_handle_t e,
                                               zes_engine_properties_t* props) {
  const Component& c = of(e);
  props->type = c.word.rfind("compute_all", 0) == 0 ? ZES_ENGINE_GROUP_COMPUTE_ALL
                : c.word.rfind("all", 0) == 0       ? ZES_ENGINE_GROUP_ALL
                                                    : ZES_ENGINE_GROUP_RENDER_SINGLE;
  set_subdevice(props->onSubdevice, props->subdeviceId, c.word);
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zesEngineGetActivity(zes_engine_handle_t e, zes_engine_stats_t* stats) {
  const Component& c = of(e);
  std::string prefix = "engine." + std::to_string(c.index);
  if (ze_result_t r = read_u64(c, prefix + ".active", stats->activeTime); r != ZE_RESULT_SUCCESS)
    return r;
  return read_u64(c, prefix + ".ts", stats->timestamp);
}

FAKE_EXPORT ze_result_t zesDeviceEnumFans(zes_device_handle_t device, uint32_t* count,
                                          zes_fan_handle_t* out) {
  if (!g_sysman) return ZE_RESULT_ERROR_UNINITIALIZED;
  uint32_t dv = of(device).device;
  auto n = static_cast<uint32_t>(g_script.integer_or(key(dv, "fans"), 0));
  if (out == nullptr || *count == 0) {
    *count = n;
    return ZE_RESULT_SUCCESS;
  }
  *count = std::min(*count, n);
  for (uint32_t i = 0; i < *count; ++i) out[i] = make_handle<zes_fan_handle_t>(dv, i, "fan");
  return ZE_RESULT_SUCCESS;
}

FAKE_EXPORT ze_result_t zesFanGetState(zes_fan_handle_t f, zes_fan_speed_units_t units,
                                       int32_t* speed) {
  const Component& c = of(f);
  Answer a = g_script.next(key(c.device, units == ZES_FAN_SPEED_UNITS_RPM ? "fan.rpm" : "fan.pct"));
  *speed = static_cast<int32_t>(a.integer());
  return status_of(a);
}
