// NvmlBackend against a fake libnvidia-ml.so.1: exact samples in wire units,
// the reason for every unavailable field, the v2 -> v1 memory fallback and
// which API served the figure.
#include <gtest/gtest.h>

#include <string>

#include "stages/telemetry/nvml_backend.h"
#include "tests/unit/telemetry/contract/fake_vendor.h"

namespace nightshift::telemetry {
namespace {

using testing::expect_every_field_set_or_explained;
using testing::fake_library;
using testing::FakeScenario;
using testing::reason;

constexpr const char* kEnv = "NIGHTSHIFT_FAKE_NVML";

// Device 0 answers everything; device 1 answers nothing beyond its name.
constexpr const char* kTwoDevices = R"(
count = 2
0.name = Fake A100
0.pci = 00000000:3B:00.0
0.temp = 65
0.util = 87
0.sm_clock = 1410
0.mem_clock = 1593
0.power_mw = 251234
0.energy_mj = 123456789
0.fan_pct = 55
0.fan_rpm = 2100
0.memory_v2 = ok
0.mem_total = 85899345920
0.mem_reserved = 536870912
0.mem_free = 75161927680
0.mem_used = 10200547328
1.name = Fake T4
1.pci = 00000000:AF:00.0
)";

std::vector<GpuSample> sample_all(NvmlBackend& backend) {
  std::vector<GpuSample> out(backend.devices().size());
  for (std::size_t i = 0; i < out.size(); ++i) backend.refresh(i, 1'000'000'000, out[i]);
  return out;
}

TEST(NvmlContract, TwoDevicesInWireUnits) {
  FakeScenario scenario(kEnv, kTwoDevices);
  NvmlBackend backend(fake_library("libnvidia-ml.so.1"));
  Status status = backend.init();
  ASSERT_TRUE(status.ok()) << status.error();
  ASSERT_EQ(backend.devices().size(), 2u);
  EXPECT_EQ(backend.devices()[0].name, "Fake A100");
  EXPECT_EQ(backend.devices()[0].pci_bus_id, "0000:3b:00.0");
  EXPECT_EQ(backend.devices()[1].pci_bus_id, "0000:af:00.0");

  auto s = sample_all(backend);
  EXPECT_EQ(s[0].temp_c, 65.0);
  EXPECT_EQ(s[0].util_pct, 87.0);
  EXPECT_EQ(s[0].sm_clock_mhz, 1410.0);
  EXPECT_EQ(s[0].mem_clock_mhz, 1593.0);
  EXPECT_EQ(s[0].power_w, 251.234);      // mW -> W
  EXPECT_EQ(s[0].energy_j, 123456.789);  // mJ -> J
  EXPECT_EQ(s[0].fan_pct, 55.0);
  EXPECT_EQ(s[0].fan_rpm, 2100.0);  // nvmlDeviceGetFanSpeedRPM
  EXPECT_EQ(s[0].mem_used_bytes, 10200547328u);
  EXPECT_EQ(s[0].mem_total_bytes, 85899345920u);
  EXPECT_EQ(s[0].mem_used_source, "nvml_v2");
  EXPECT_NE(reason(s[0], "temp_junction_c").find("NVML"), std::string::npos);

  for (const char* field : {"temp_c", "util_pct", "sm_clock_mhz", "power_w", "energy_j", "fan_pct",
                            "fan_rpm", "mem_used_bytes", "mem_total_bytes"}) {
    EXPECT_EQ(reason(s[1], field), "not supported by this device") << field;
  }
  for (const auto& sample : s) expect_every_field_set_or_explained(sample);
}

// Every status a v2 call fails with on drivers that lack or refuse it falls
// back to v1 (999 is WSL's answer), and the sample says v1 served it.
TEST(NvmlContract, MemoryFallsBackToV1AndSaysSo) {
  for (int v2_status : {3, 13, 25, 999}) {
    FakeScenario scenario(kEnv, "count = 1\n0.name = Old\n0.memory_v2 = !" +
                                    std::to_string(v2_status) +
                                    "\n0.memory_v1 = ok\n0.mem_total = 17179869184\n"
                                    "0.mem_free = 12884901888\n0.mem_v1_used = 4294967296\n");
    NvmlBackend backend(fake_library("libnvidia-ml.so.1"));
    ASSERT_TRUE(backend.init().ok());
    GpuSample s = sample_all(backend)[0];
    EXPECT_EQ(s.mem_used_bytes, 4294967296u) << "v2 status " << v2_status;
    EXPECT_EQ(s.mem_total_bytes, 17179869184u) << "v2 status " << v2_status;
    EXPECT_EQ(s.mem_used_source, "nvml_v1_includes_reserved") << "v2 status " << v2_status;
    expect_every_field_set_or_explained(s);
  }
}

TEST(NvmlContract, MemoryRefusedForPermissionIsNotRetriedAsV1) {
  FakeScenario scenario(kEnv, "count = 1\n0.memory_v2 = !4\n0.memory_v1 = ok\n0.mem_v1_used = 1\n");
  NvmlBackend backend(fake_library("libnvidia-ml.so.1"));
  ASSERT_TRUE(backend.init().ok());
  GpuSample s = sample_all(backend)[0];
  EXPECT_FALSE(s.mem_used_bytes.has_value());
  EXPECT_EQ(reason(s, "mem_used_bytes"), "permission denied");
  EXPECT_EQ(reason(s, "mem_total_bytes"), "permission denied");
  EXPECT_FALSE(s.mem_used_source.has_value());
  expect_every_field_set_or_explained(s);
}

// NVML's fan percent is of the noise-tolerance maximum and may exceed 100.
TEST(NvmlContract, FanPercentIsClampedToOneHundred) {
  for (int pct : {0, 100, 112, 255}) {
    FakeScenario scenario(kEnv, "count = 1\n0.fan_pct = " + std::to_string(pct) + "\n");
    NvmlBackend backend(fake_library("libnvidia-ml.so.1"));
    ASSERT_TRUE(backend.init().ok());
    GpuSample s = sample_all(backend)[0];
    EXPECT_EQ(s.fan_pct, std::min(pct, 100)) << pct;
  }
}

TEST(NvmlContract, FailingInitIsNoDeviceWithTheReason) {
  FakeScenario scenario(kEnv, "init = !9\n");
  NvmlBackend backend(fake_library("libnvidia-ml.so.1"));
  Status status = backend.init();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error(), "no device: nvmlInit_v2 failed: Driver Not Loaded");
  EXPECT_TRUE(backend.devices().empty());
}

TEST(NvmlContract, NoGpuIsNoDevice) {
  FakeScenario scenario(kEnv, "count = 0\n");
  NvmlBackend backend(fake_library("libnvidia-ml.so.1"));
  Status status = backend.init();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error(), "no device: NVML found no NVIDIA GPU");
}

}  // namespace
}  // namespace nightshift::telemetry
