// A fake librocm_smi64.so: ROCm SMI's entry points (prototypes from the
// packaged rocm_smi.h, and rocm_smi_abi.h for newer ones) answering from the
// script named by NIGHTSHIFT_FAKE_ROCM. Keys:
//   init (status), count, version (major reported by rsmi_version_get),
//   abi (5 or 6: the rsmi_frequencies_t layout written, whatever the version);
//   per device N: N.name, N.bdfid, N.temp.edge / .junction / .memory (m°C),
//   N.busy, N.vram_used, N.vram_total, N.power_ave, N.socket_power (µW),
//   N.energy (ticks), N.energy_resolution (µJ per tick), N.fan_rpm,
//   N.fan_speed, N.fan_max, N.sclk / N.mclk = "hz hz ... / current".
#include <cstdio>
#include <cstring>
#include <iterator>
#include <sstream>
#include <string>
#include <type_traits>

#include "stages/telemetry/rocm_smi_abi.h"
#include "tests/fakes/fake_script.h"

using nightshift::fake::Answer;
using nightshift::fake::device_key;
using nightshift::fake::FakeScript;
namespace abi = nightshift::telemetry::rsmi_abi;

namespace {

FakeScript g_script(RSMI_STATUS_NOT_SUPPORTED);
bool g_initialised = false;

template <typename T>
rsmi_status_t answer(uint32_t dv, const std::string& field, T* out) {
  if (!g_initialised) return RSMI_STATUS_INIT_ERROR;
  if (dv >= g_script.integer_or("count", 0)) return RSMI_STATUS_INVALID_ARGS;
  Answer a = g_script.next(device_key(dv, field.c_str()));
  if (a.status) return static_cast<rsmi_status_t>(*a.status);
  if constexpr (std::is_same_v<T, std::string>)
    *out = a.text;
  else if constexpr (std::is_floating_point_v<T>)
    *out = static_cast<T>(a.real());
  else
    *out = static_cast<T>(a.integer());
  return RSMI_STATUS_SUCCESS;
}

// Writes a frequency table the way a library of layout `abi` does: field by
// field into the caller's struct, so a struct too small is overrun.
template <typename Table>
void write_table(Table* table, const std::vector<uint64_t>& hz, uint32_t current) {
  table->num_supported = static_cast<uint32_t>(hz.size());
  table->current = current;
  for (std::size_t i = 0; i < std::size(table->frequency); ++i)
    table->frequency[i] = i < hz.size() ? hz[i] : 0;
}

}  // namespace

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

FAKE_EXPORT rsmi_status_t rsmi_init(uint64_t) {
  if (!g_script.load("NIGHTSHIFT_FAKE_ROCM")) return RSMI_STATUS_INIT_ERROR;
  std::fputs("fake rsmi_init: chatter that must not reach our stderr\n", stderr);
  Answer a = g_script.has("init") ? g_script.next("init") : Answer{};  // absent: success
  g_initialised = !a.status;
  return a.status ? static_cast<rsmi_status_t>(*a.status) : RSMI_STATUS_SUCCESS;
}

FAKE_EXPORT rsmi_status_t rsmi_shut_down() {
  g_initialised = false;
  return RSMI_STATUS_SUCCESS;
}

FAKE_EXPORT rsmi_status_t rsmi_status_string(rsmi_status_t status, const char** text) {
  *text = status == RSMI_STATUS_INIT_ERROR ? "RSMI_STATUS_INIT_ERROR: fake init failure"
                                           : "RSMI_STATUS: fake error";
  return RSMI_STATUS_SUCCESS;
}

FAKE_EXPORT rsmi_status_t rsmi_version_get(rsmi_version_t* version) {
  *version = rsmi_version_t{static_cast<uint32_t>(g_script.integer_or("version", 1)), 0, 0, ""};
  return RSMI_STATUS_SUCCESS;
}

FAKE_EXPORT rsmi_status_t rsmi_num_monitor_devices(uint32_t* count) {
  if (!g_initialised) return RSMI_STATUS_INIT_ERROR;
  *count = static_cast<uint32_t>(g_script.integer_or("count", 0));
  return RSMI_STATUS_SUCCESS;
}

FAKE_EXPORT rsmi_status_t rsmi_dev_name_get(uint32_t dv, char* name, size_t length) {
  Answer a = g_script.next(device_key(dv, "name"));
  if (a.status) return static_cast<rsmi_status_t>(*a.status);
  if (a.text.size() + 1 > length) return RSMI_STATUS_INSUFFICIENT_SIZE;
  std::memcpy(name, a.text.c_str(), a.text.size() + 1);
  return RSMI_STATUS_SUCCESS;
}

FAKE_EXPORT rsmi_status_t rsmi_dev_pci_id_get(uint32_t dv, uint64_t* bdfid) {
  return answer(dv, "bdfid", bdfid);
}

FAKE_EXPORT rsmi_status_t rsmi_dev_temp_metric_get(uint32_t dv, uint32_t sensor_type,
                                                   rsmi_temperature_metric_t metric,
                                                   int64_t* temperature) {
  if (metric != RSMI_TEMP_CURRENT) return RSMI_STATUS_INVALID_ARGS;
  const char* name = sensor_type == RSMI_TEMP_TYPE_EDGE       ? "temp.edge"
                     : sensor_type == RSMI_TEMP_TYPE_JUNCTION ? "temp.junction"
                     : sensor_type == RSMI_TEMP_TYPE_MEMORY   ? "temp.memory"
                                                              : "temp.other";
  return answer(dv, name, temperature);
}

FAKE_EXPORT rsmi_status_t rsmi_dev_busy_percent_get(uint32_t dv, uint32_t* busy) {
  return answer(dv, "busy", busy);
}

FAKE_EXPORT rsmi_status_t rsmi_dev_memory_usage_get(uint32_t dv, rsmi_memory_type_t type,
                                                    uint64_t* used) {
  if (type != RSMI_MEM_TYPE_VRAM) return RSMI_STATUS_NOT_SUPPORTED;
  return answer(dv, "vram_used", used);
}

FAKE_EXPORT rsmi_status_t rsmi_dev_memory_total_get(uint32_t dv, rsmi_memory_type_t type,
                                                    uint64_t* total) {
  if (type != RSMI_MEM_TYPE_VRAM) return RSMI_STATUS_NOT_SUPPORTED;
  return answer(dv, "vram_total", total);
}

FAKE_EXPORT rsmi_status_t rsmi_dev_power_ave_get(uint32_t dv, uint32_t sensor, uint64_t* power) {
  if (sensor != 0) return RSMI_STATUS_INVALID_ARGS;
  return answer(dv, "power_ave", power);
}

FAKE_EXPORT rsmi_status_t rsmi_dev_current_socket_power_get(uint32_t dv, uint64_t* power) {
  return answer(dv, "socket_power", power);
}

FAKE_EXPORT rsmi_status_t rsmi_dev_energy_count_get(uint32_t dv, uint64_t* ticks, float* resolution,
                                                    uint64_t* timestamp) {
  rsmi_status_t r = answer(dv, "energy", ticks);
  if (r != RSMI_STATUS_SUCCESS) return r;
  *timestamp = 0;
  return answer(dv, "energy_resolution", resolution);
}

FAKE_EXPORT rsmi_status_t rsmi_dev_gpu_clk_freq_get(uint32_t dv, rsmi_clk_type_t type,
                                                    rsmi_frequencies_t* frequencies) {
  std::string table;
  rsmi_status_t r = answer(dv,
                           type == RSMI_CLK_TYPE_SYS   ? "sclk"
                           : type == RSMI_CLK_TYPE_MEM ? "mclk"
                                                       : "other_clk",
                           &table);
  if (r != RSMI_STATUS_SUCCESS) return r;
  std::istringstream in(table);
  std::vector<uint64_t> hz;
  std::string word;
  uint32_t current = 0;
  while (in >> word) {
    if (word == "/") {
      in >> current;
      break;
    }
    hz.push_back(std::stoull(word));
  }
  if (g_script.integer_or("abi", 5) >= 6)
    write_table(reinterpret_cast<abi::FrequenciesV6*>(frequencies), hz, current);
  else
    write_table(frequencies, hz, current);
  return RSMI_STATUS_SUCCESS;
}

FAKE_EXPORT rsmi_status_t rsmi_dev_fan_rpms_get(uint32_t dv, uint32_t sensor, int64_t* rpm) {
  if (sensor != 0) return RSMI_STATUS_INVALID_ARGS;
  return answer(dv, "fan_rpm", rpm);
}

FAKE_EXPORT rsmi_status_t rsmi_dev_fan_speed_get(uint32_t dv, uint32_t sensor, int64_t* speed) {
  if (sensor != 0) return RSMI_STATUS_INVALID_ARGS;
  return answer(dv, "fan_speed", speed);
}

FAKE_EXPORT rsmi_status_t rsmi_dev_fan_speed_max_get(uint32_t dv, uint32_t sensor,
                                                     uint64_t* max_speed) {
  if (sensor != 0) return RSMI_STATUS_INVALID_ARGS;
  return answer(dv, "fan_max", max_speed);
}
