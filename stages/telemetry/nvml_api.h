// The part of NVML's C API (nvml.h) this project calls, declared here because
// the library is opened at run time and its header is not packaged. Layouts
// and constants follow nvml.h exactly; the static_asserts pin them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace nightshift::telemetry::nvml {

using Return = int;
inline constexpr Return kSuccess = 0;
inline constexpr Return kErrorNotSupported = 3;
inline constexpr Return kErrorNoPermission = 4;
inline constexpr Return kErrorFunctionNotFound = 13;
inline constexpr Return kErrorArgumentVersionMismatch = 25;

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

struct PciInfo {
  char bus_id_legacy[16];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pci_device_id;
  unsigned int pci_subsystem_id;
  char bus_id[32];
};

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
MemoryUse memory_use(const MemoryV2& v2);
MemoryUse memory_use(const MemoryV1& v1);

// A v2 memory call failed this way: try v1 instead (old driver).
bool should_fall_back_to_v1(Return result);

// "00000000:01:00.0" -> "0000:01:00.0" (the sysfs spelling), lower case.
std::string normalize_pci_bus_id(const std::string& bus_id);

}  // namespace nightshift::telemetry::nvml
