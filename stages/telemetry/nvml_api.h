// The part of NVML's C API (nvml.h) this project calls, declared here because
// the library is opened at run time and its header is not packaged. Layouts,
// constants and prototypes follow nvml.h exactly; the static_asserts pin the
// layouts, and the prototypes at the end are what both the backend (through
// decltype) and the test tree's fake libnvidia-ml are compiled against.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace nightshift::telemetry::nvml {

using Return = int;
inline constexpr Return kSuccess = 0;
inline constexpr Return kErrorUninitialized = 1;
inline constexpr Return kErrorNotSupported = 3;
inline constexpr Return kErrorNoPermission = 4;
inline constexpr Return kErrorDriverNotLoaded = 9;
inline constexpr Return kErrorFunctionNotFound = 13;
inline constexpr Return kErrorArgumentVersionMismatch = 25;
inline constexpr Return kErrorUnknown = 999;

using Device = struct DeviceOpaque*;

struct MemoryV1 {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

// nvmlMemory_v2_t: `used` excludes `reserved` (driver/firmware memory), which
// is what nvidia-smi shows as memory.used.
struct MemoryV2 {
  unsigned int version;
  unsigned long long total;
  unsigned long long reserved;
  unsigned long long free;
  unsigned long long used;
};

// NVML_STRUCT_VERSION(name, ver): sizeof(struct) | ver << 24.
constexpr unsigned int struct_version(std::size_t size, unsigned int version) {
  return static_cast<unsigned int>(size) | (version << 24);
}
inline constexpr unsigned int kMemoryV2Version = struct_version(sizeof(MemoryV2), 2);
static_assert(sizeof(MemoryV2) == 40 && kMemoryV2Version == 0x02000028,
              "nvmlMemory_v2 must match nvml.h");

struct Utilization {
  unsigned int gpu;
  unsigned int memory;
};

// nvmlPciInfo_t as filled by nvmlDeviceGetPciInfo_v3.
struct PciInfo {
  char bus_id_legacy[16];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pci_device_id;
  unsigned int pci_subsystem_id;
  char bus_id[32];
};
static_assert(sizeof(PciInfo) == 68 && offsetof(PciInfo, domain) == 16 &&
                  offsetof(PciInfo, bus_id) == 36,
              "nvmlPciInfo_t must match nvml.h");

// nvmlFanSpeedInfo_v1_t (nvmlDeviceGetFanSpeedRPM, drivers >= 550).
struct FanSpeedInfo {
  unsigned int version;
  unsigned int fan;
  unsigned int speed;  // RPM
};
inline constexpr unsigned int kFanSpeedInfoV1Version = struct_version(sizeof(FanSpeedInfo), 1);
static_assert(sizeof(FanSpeedInfo) == 12 && kFanSpeedInfoV1Version == 0x0100000c,
              "nvmlFanSpeedInfo_v1 must match nvml.h");

inline constexpr unsigned int kTemperatureGpu = 0;
inline constexpr unsigned int kClockSm = 1;
inline constexpr unsigned int kClockMem = 2;

// Memory figures as reported, with the struct version that served them.
struct MemoryUse {
  uint64_t used_bytes = 0;
  uint64_t total_bytes = 0;
  std::optional<uint64_t> reserved_bytes;  // only from v2
  int api_version = 1;
};
// GpuSample::mem_used_source for each: v1's `used` includes reserved memory.
inline constexpr const char* kMemSourceV2 = "nvml_v2";
inline constexpr const char* kMemSourceV1 = "nvml_v1_includes_reserved";
MemoryUse memory_use(const MemoryV2& v2);
MemoryUse memory_use(const MemoryV1& v1);

// A v2 memory call failed this way: try v1 instead (old driver, or WSL's
// NVML, which answers v2 with NVML_ERROR_UNKNOWN).
bool should_fall_back_to_v1(Return result);

// "00000000:01:00.0" -> "0000:01:00.0" (the sysfs spelling), lower case.
std::string normalize_pci_bus_id(const std::string& bus_id);

}  // namespace nightshift::telemetry::nvml

// nvml.h's prototypes of the entry points above (nvmlDevice_t is nvml::Device).
extern "C" {
namespace nvml_ns = nightshift::telemetry::nvml;
nvml_ns::Return nvmlInit_v2();
nvml_ns::Return nvmlShutdown();
const char* nvmlErrorString(nvml_ns::Return result);
nvml_ns::Return nvmlDeviceGetCount_v2(unsigned int* count);
nvml_ns::Return nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvml_ns::Device* device);
nvml_ns::Return nvmlDeviceGetName(nvml_ns::Device device, char* name, unsigned int length);
nvml_ns::Return nvmlDeviceGetPciInfo_v3(nvml_ns::Device device, nvml_ns::PciInfo* pci);
nvml_ns::Return nvmlDeviceGetMemoryInfo(nvml_ns::Device device, nvml_ns::MemoryV1* memory);
nvml_ns::Return nvmlDeviceGetMemoryInfo_v2(nvml_ns::Device device, nvml_ns::MemoryV2* memory);
nvml_ns::Return nvmlDeviceGetTemperature(nvml_ns::Device device, unsigned int sensor,
                                         unsigned int* temp);
nvml_ns::Return nvmlDeviceGetUtilizationRates(nvml_ns::Device device,
                                              nvml_ns::Utilization* utilization);
nvml_ns::Return nvmlDeviceGetClockInfo(nvml_ns::Device device, unsigned int type,
                                       unsigned int* clock);
nvml_ns::Return nvmlDeviceGetPowerUsage(nvml_ns::Device device, unsigned int* power);
nvml_ns::Return nvmlDeviceGetTotalEnergyConsumption(nvml_ns::Device device,
                                                    unsigned long long* energy);
nvml_ns::Return nvmlDeviceGetFanSpeed(nvml_ns::Device device, unsigned int* speed);
nvml_ns::Return nvmlDeviceGetFanSpeedRPM(nvml_ns::Device device, nvml_ns::FanSpeedInfo* fan);
}
