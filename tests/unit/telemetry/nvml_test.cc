#include <gtest/gtest.h>

#include <cstddef>

#include "stages/telemetry/nvml_api.h"
#include "stages/telemetry/nvml_backend.h"

namespace nightshift::telemetry {
namespace {

TEST(NvmlStructVersion, MemoryV2MatchesNvmlHeader) {
  // nvml.h: #define nvmlMemory_v2 NVML_STRUCT_VERSION(Memory, 2) == 0x02000028.
  EXPECT_EQ(nvml::kMemoryV2Version, 0x02000028u);
  EXPECT_EQ(nvml::struct_version(sizeof(nvml::MemoryV2), 2), sizeof(nvml::MemoryV2) | (2u << 24));
  EXPECT_EQ(offsetof(nvml::MemoryV2, total), 8u);
  EXPECT_EQ(offsetof(nvml::MemoryV2, reserved), 16u);
  EXPECT_EQ(offsetof(nvml::MemoryV2, used), 32u);
  EXPECT_EQ(sizeof(nvml::MemoryV1), 24u);
  EXPECT_EQ(offsetof(nvml::PciInfo, bus_id), 36u);
}

TEST(NvmlMemory, V2UsedExcludesReserved) {
  nvml::MemoryV2 v2{nvml::kMemoryV2Version, 80ull << 30, 512ull << 20, 70ull << 30,
                    (10ull << 30) - (512ull << 20)};
  auto use = nvml::memory_use(v2);
  EXPECT_EQ(use.api_version, 2);
  EXPECT_EQ(use.used_bytes, (10ull << 30) - (512ull << 20));
  EXPECT_EQ(use.total_bytes, 80ull << 30);
  ASSERT_TRUE(use.reserved_bytes.has_value());
  EXPECT_EQ(*use.reserved_bytes, 512ull << 20);
}

TEST(NvmlMemory, V1HasNoReservedFigure) {
  nvml::MemoryV1 v1{16ull << 30, 12ull << 30, 4ull << 30};
  auto use = nvml::memory_use(v1);
  EXPECT_EQ(use.api_version, 1);
  EXPECT_EQ(use.used_bytes, 4ull << 30);
  EXPECT_FALSE(use.reserved_bytes.has_value());
}

TEST(NvmlMemory, FallsBackToV1OnlyForMissingOrMismatchedV2) {
  EXPECT_TRUE(nvml::should_fall_back_to_v1(nvml::kErrorUnknown));  // WSL
  EXPECT_TRUE(nvml::should_fall_back_to_v1(nvml::kErrorFunctionNotFound));
  EXPECT_TRUE(nvml::should_fall_back_to_v1(nvml::kErrorArgumentVersionMismatch));
  EXPECT_TRUE(nvml::should_fall_back_to_v1(nvml::kErrorNotSupported));
  EXPECT_FALSE(nvml::should_fall_back_to_v1(nvml::kErrorNoPermission));
  EXPECT_FALSE(nvml::should_fall_back_to_v1(nvml::kSuccess));
}

TEST(NvmlPci, BusIdNormalisedToSysfsSpelling) {
  EXPECT_EQ(nvml::normalize_pci_bus_id("00000000:3B:00.0"), "0000:3b:00.0");
  EXPECT_EQ(nvml::normalize_pci_bus_id("0000:01:00.0"), "0000:01:00.0");
}

TEST(NvmlBackend, MissingLibraryIsUnavailableWithReason) {
  NvmlBackend backend("libnvidia-ml-does-not-exist.so.1");
  Status status = backend.init();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().rfind("library missing: ", 0), 0u) << status.error();
  EXPECT_NE(status.error().find("libnvidia-ml-does-not-exist.so.1"), std::string::npos);
  EXPECT_TRUE(backend.devices().empty());
  backend.shutdown();  // safe after a failed init
}

}  // namespace
}  // namespace nightshift::telemetry
