// A fake libnvidia-ml.so.1: NVML's entry points (nvml_api.h's copy of the
// nvml.h prototypes, so a wrong signature does not compile) answering from
// the script named by NIGHTSHIFT_FAKE_NVML. Keys:
//   init (status), count, and per device N: N.name, N.pci (bus id),
//   N.temp, N.util, N.sm_clock, N.mem_clock, N.power_mw, N.energy_mj,
//   N.fan_pct, N.fan_rpm, N.memory_v2 / N.memory_v1 (status of the call) with
//   N.mem_total, N.mem_reserved, N.mem_free, N.mem_used (v2) and
//   N.mem_v1_used (v1: includes reserved).
// Struct versions are checked like the driver does: a wrong one answers
// NVML_ERROR_ARGUMENT_VERSION_MISMATCH.
#include <cstring>
#include <string>

#include "stages/telemetry/nvml_api.h"
#include "tests/fakes/fake_script.h"

namespace nvml = nightshift::telemetry::nvml;
using nightshift::fake::device_key;
using nightshift::fake::FakeScript;

namespace {

struct FakeDevice {
  unsigned int index;
};
FakeDevice g_devices[8] = {{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}};
FakeScript g_script(nvml::kErrorNotSupported);
bool g_initialised = false;

unsigned int index_of(nvml::Device device) { return reinterpret_cast<FakeDevice*>(device)->index; }

// Answers N.<field> into *out; the status to return.
template <typename T>
nvml::Return answer(nvml::Device device, const char* field, T* out) {
  if (!g_initialised) return nvml::kErrorUninitialized;
  auto a = g_script.next(device_key(index_of(device), field));
  if (a.status) return static_cast<nvml::Return>(*a.status);
  *out = static_cast<T>(a.unsigned_integer());
  return nvml::kSuccess;
}

nvml::Return call_status(nvml::Device device, const char* call) {
  if (!g_initialised) return nvml::kErrorUninitialized;
  auto a = g_script.next(device_key(index_of(device), call));
  return a.status ? static_cast<nvml::Return>(*a.status) : nvml::kSuccess;
}

unsigned long long field(nvml::Device device, const char* name) {
  return g_script.next(device_key(index_of(device), name)).unsigned_integer();
}

}  // namespace

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

FAKE_EXPORT nvml::Return nvmlInit_v2() {
  if (!g_script.load("NIGHTSHIFT_FAKE_NVML")) return nvml::kErrorDriverNotLoaded;
  // An absent `init` key means success.
  auto status = g_script.has("init") ? g_script.next("init") : nightshift::fake::Answer{};
  g_initialised = !status.status;
  return status.status ? static_cast<nvml::Return>(*status.status) : nvml::kSuccess;
}

FAKE_EXPORT nvml::Return nvmlShutdown() {
  g_initialised = false;
  return nvml::kSuccess;
}

FAKE_EXPORT const char* nvmlErrorString(nvml::Return result) {
  switch (result) {
    case nvml::kErrorUninitialized:
      return "Uninitialized";
    case nvml::kErrorDriverNotLoaded:
      return "Driver Not Loaded";
    case nvml::kErrorArgumentVersionMismatch:
      return "Argument Version Mismatch";
    case nvml::kErrorUnknown:
      return "Unknown Error";
    default:
      return "Fake NVML Error";
  }
}

FAKE_EXPORT nvml::Return nvmlDeviceGetCount_v2(unsigned int* count) {
  if (!g_initialised) return nvml::kErrorUninitialized;
  *count = static_cast<unsigned int>(g_script.integer_or("count", 0));
  return nvml::kSuccess;
}

FAKE_EXPORT nvml::Return nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvml::Device* device) {
  if (!g_initialised) return nvml::kErrorUninitialized;
  if (index >= 8 || index >= g_script.integer_or("count", 0)) return 2;  // INVALID_ARGUMENT
  *device = reinterpret_cast<nvml::Device>(&g_devices[index]);
  return nvml::kSuccess;
}

FAKE_EXPORT nvml::Return nvmlDeviceGetName(nvml::Device device, char* name, unsigned int length) {
  auto a = g_script.next(device_key(index_of(device), "name"));
  if (a.status) return static_cast<nvml::Return>(*a.status);
  if (a.text.size() + 1 > length) return 7;  // INSUFFICIENT_SIZE
  std::memcpy(name, a.text.c_str(), a.text.size() + 1);
  return nvml::kSuccess;
}

FAKE_EXPORT nvml::Return nvmlDeviceGetPciInfo_v3(nvml::Device device, nvml::PciInfo* pci) {
  auto a = g_script.next(device_key(index_of(device), "pci"));
  if (a.status) return static_cast<nvml::Return>(*a.status);
  nvml::PciInfo info{};
  std::strncpy(info.bus_id, a.text.c_str(), sizeof info.bus_id - 1);
  std::strncpy(info.bus_id_legacy, a.text.c_str(), sizeof info.bus_id_legacy - 1);
  std::memcpy(pci, &info, sizeof info);
  return nvml::kSuccess;
}

FAKE_EXPORT nvml::Return nvmlDeviceGetMemoryInfo_v2(nvml::Device device, nvml::MemoryV2* memory) {
  if (memory->version != nvml::kMemoryV2Version) return nvml::kErrorArgumentVersionMismatch;
  if (nvml::Return r = call_status(device, "memory_v2"); r != nvml::kSuccess) return r;
  memory->total = field(device, "mem_total");
  memory->reserved = field(device, "mem_reserved");
  memory->free = field(device, "mem_free");
  memory->used = field(device, "mem_used");
  return nvml::kSuccess;
}

FAKE_EXPORT nvml::Return nvmlDeviceGetMemoryInfo(nvml::Device device, nvml::MemoryV1* memory) {
  if (nvml::Return r = call_status(device, "memory_v1"); r != nvml::kSuccess) return r;
  memory->total = field(device, "mem_total");
  memory->free = field(device, "mem_free");
  memory->used = field(device, "mem_v1_used");
  return nvml::kSuccess;
}

FAKE_EXPORT nvml::Return nvmlDeviceGetTemperature(nvml::Device device, unsigned int sensor,
                                                  unsigned int* temp) {
  if (sensor != nvml::kTemperatureGpu) return 2;
  return answer(device, "temp", temp);
}

FAKE_EXPORT nvml::Return nvmlDeviceGetUtilizationRates(nvml::Device device,
                                                       nvml::Utilization* utilization) {
  unsigned int gpu = 0;
  nvml::Return r = answer(device, "util", &gpu);
  if (r == nvml::kSuccess) *utilization = nvml::Utilization{gpu, 0};
  return r;
}

FAKE_EXPORT nvml::Return nvmlDeviceGetClockInfo(nvml::Device device, unsigned int type,
                                                unsigned int* clock) {
  if (type == nvml::kClockSm) return answer(device, "sm_clock", clock);
  if (type == nvml::kClockMem) return answer(device, "mem_clock", clock);
  return 2;
}

FAKE_EXPORT nvml::Return nvmlDeviceGetPowerUsage(nvml::Device device, unsigned int* power) {
  return answer(device, "power_mw", power);
}

FAKE_EXPORT nvml::Return nvmlDeviceGetTotalEnergyConsumption(nvml::Device device,
                                                             unsigned long long* energy) {
  return answer(device, "energy_mj", energy);
}

FAKE_EXPORT nvml::Return nvmlDeviceGetFanSpeed(nvml::Device device, unsigned int* speed) {
  return answer(device, "fan_pct", speed);
}

FAKE_EXPORT nvml::Return nvmlDeviceGetFanSpeedRPM(nvml::Device device, nvml::FanSpeedInfo* fan) {
  if (fan->version != nvml::kFanSpeedInfoV1Version) return nvml::kErrorArgumentVersionMismatch;
  if (fan->fan != 0) return 2;
  return answer(device, "fan_rpm", &fan->speed);
}
