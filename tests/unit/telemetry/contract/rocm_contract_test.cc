// RocmBackend against a fake librocm_smi64.so: both rsmi_frequencies_t
// layouts under every version a library may report (under ASan, a 6.x table
// written into a 5.x-sized struct fails here), power and temperature
// fallbacks, the reason for every unavailable field, and a quiet init.
#include <gtest/gtest.h>
#include <rocm_smi/rocm_smi.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "stages/telemetry/rocm_backend.h"
#include "tests/unit/telemetry/contract/fake_vendor.h"

namespace nightshift::telemetry {
namespace {

using testing::expect_every_field_set_or_explained;
using testing::fake_library;
using testing::FakeScenario;
using testing::reason;

constexpr const char* kEnv = "NIGHTSHIFT_FAKE_ROCM";
const std::string kNotSupported = "!" + std::to_string(RSMI_STATUS_NOT_SUPPORTED);

constexpr const char* kFullDevice = R"(
0.name = Fake MI300X
0.bdfid = 0x300
0.temp.edge = 54000
0.temp.junction = 61500
0.temp.memory = 58000
0.busy = 37
0.vram_used = 2147483648
0.vram_total = 25753026560
0.power_ave = 187000000
0.energy = 1000000
0.energy_resolution = 15.3
0.fan_rpm = 1450
0.fan_speed = 102
0.fan_max = 255
0.sclk = 500000000 1850000000 2100000000 / 1
0.mclk = 96000000 1249000000 / 1
)";

GpuSample sample_device(RocmBackend& backend, std::size_t device) {
  GpuSample s;
  backend.refresh(device, 1'000'000'000, s);
  return s;
}

TEST(RocmContract, FullDeviceInWireUnits) {
  FakeScenario scenario(kEnv, std::string("count = 2\nversion = 5\nabi = 5\n") + kFullDevice +
                                  "1.name = Fake W7900\n1.bdfid = 0x10000c300\n");
  RocmBackend backend(fake_library("librocm_smi64.so"));
  Status status = backend.init();
  ASSERT_TRUE(status.ok()) << status.error();
  ASSERT_EQ(backend.devices().size(), 2u);
  EXPECT_EQ(backend.devices()[0].pci_bus_id, "0000:03:00.0");
  EXPECT_EQ(backend.devices()[1].pci_bus_id, "0001:c3:00.0");
  GpuSample s = sample_device(backend, 0);
  EXPECT_EQ(s.temp_c, 54.0);  // m°C -> °C
  EXPECT_EQ(s.temp_junction_c, 61.5);
  EXPECT_EQ(s.temp_mem_c, 58.0);
  EXPECT_EQ(s.util_pct, 37.0);
  EXPECT_EQ(s.mem_used_bytes, 2147483648u);
  EXPECT_EQ(s.mem_total_bytes, 25753026560u);
  EXPECT_EQ(s.power_w, 187.0);  // µW -> W
  EXPECT_DOUBLE_EQ(*s.energy_j, 1000000 * double(15.3f) / 1e6);
  EXPECT_EQ(s.fan_rpm, 1450.0);
  EXPECT_DOUBLE_EQ(*s.fan_pct, 40.0);
  EXPECT_EQ(s.sm_clock_mhz, 1850.0);  // Hz -> MHz, the current level
  EXPECT_EQ(s.mem_clock_mhz, 1249.0);
  expect_every_field_set_or_explained(s);

  GpuSample bare = sample_device(backend, 1);
  for (const char* field : {"temp_c", "util_pct", "power_w", "energy_j", "fan_rpm", "fan_pct",
                            "sm_clock_mhz", "mem_used_bytes"}) {
    EXPECT_NE(reason(bare, field).find("not supported"), std::string::npos)
        << field << ": " << reason(bare, field);
  }
  expect_every_field_set_or_explained(bare);
}

// The frequency table under every (reported version, actual layout) pair a
// library may present, including a one-level table (the case where the two
// layouts come closest).
TEST(RocmContract, FrequencyTableDecodedByTheLibrarysLayout) {
  struct Case {
    int version, abi;
    const char* sclk;
    double mhz;
  };
  for (const Case& c :
       {Case{5, 5, "500000000 1850000000 / 1", 1850},
        Case{6, 6, "0 500000000 1850000000 2100000000 / 3", 2100}, Case{7, 6, "800000000 / 0", 800},
        Case{1, 5, "500000000 1850000000 / 1", 1850}, Case{1, 6, "500000000 1850000000 / 1", 1850},
        Case{1, 5, "800000000 / 0", 800}, Case{1, 6, "800000000 / 0", 800}}) {
    FakeScenario scenario(kEnv, "count = 1\nversion = " + std::to_string(c.version) +
                                    "\nabi = " + std::to_string(c.abi) + "\n0.sclk = " + c.sclk +
                                    "\n0.mclk = 1000000000 / 0\n");
    RocmBackend backend(fake_library("librocm_smi64.so"));
    ASSERT_TRUE(backend.init().ok());
    GpuSample s = sample_device(backend, 0);
    EXPECT_EQ(s.sm_clock_mhz, c.mhz)
        << "version " << c.version << " abi " << c.abi << ": " << reason(s, "sm_clock_mhz");
    EXPECT_EQ(s.mem_clock_mhz, 1000.0);
  }
}

// Cards without an average power sensor report the current socket power.
TEST(RocmContract, PowerFallsBackToCurrentSocketPower) {
  FakeScenario scenario(
      kEnv, "count = 1\n0.power_ave = " + kNotSupported + "\n0.socket_power = 95500000\n");
  RocmBackend backend(fake_library("librocm_smi64.so"));
  ASSERT_TRUE(backend.init().ok());
  GpuSample s = sample_device(backend, 0);
  EXPECT_EQ(s.power_w, 95.5);
  EXPECT_EQ(reason(s, "power_w"), "");
}

TEST(RocmContract, NoPowerSensorSaysWhichCallsFailed) {
  FakeScenario scenario(kEnv, "count = 1\n");
  RocmBackend backend(fake_library("librocm_smi64.so"));
  ASSERT_TRUE(backend.init().ok());
  GpuSample s = sample_device(backend, 0);
  EXPECT_FALSE(s.power_w.has_value());
  EXPECT_NE(reason(s, "power_w").find("rsmi_dev_power_ave_get"), std::string::npos);
  EXPECT_NE(reason(s, "power_w").find("rsmi_dev_current_socket_power_get"), std::string::npos);
}

// Data-centre parts may have no edge sensor: temp_c is then the junction's.
TEST(RocmContract, TemperatureFallsBackToJunction) {
  FakeScenario scenario(
      kEnv, "count = 1\n0.temp.edge = " + kNotSupported + "\n0.temp.junction = 71000\n");
  RocmBackend backend(fake_library("librocm_smi64.so"));
  ASSERT_TRUE(backend.init().ok());
  GpuSample s = sample_device(backend, 0);
  EXPECT_EQ(s.temp_c, 71.0);
  EXPECT_EQ(s.temp_junction_c, 71.0);
  expect_every_field_set_or_explained(s);
}

TEST(RocmContract, FailedEnergyAndFanCallsAreExplained) {
  FakeScenario scenario(
      kEnv, "count = 1\n0.energy = !" + std::to_string(RSMI_STATUS_PERMISSION) +
                "\n0.fan_rpm = 1200\n0.fan_speed = 100\n0.fan_max = " + kNotSupported + "\n");
  RocmBackend backend(fake_library("librocm_smi64.so"));
  ASSERT_TRUE(backend.init().ok());
  GpuSample s = sample_device(backend, 0);
  EXPECT_EQ(reason(s, "energy_j"), "permission denied");
  EXPECT_EQ(s.fan_rpm, 1200.0);
  EXPECT_EQ(reason(s, "fan_pct"), "not supported by this device");
  expect_every_field_set_or_explained(s);
}

TEST(RocmContract, FailingInitIsNoDeviceAndQuiet) {
  FakeScenario scenario(kEnv, "init = !" + std::to_string(RSMI_STATUS_INIT_ERROR) + "\n");
  RocmBackend backend(fake_library("librocm_smi64.so"));
  char path[] = "/tmp/nightshift-rsmi-stderr-XXXXXX";
  int fd = ::mkstemp(path);
  std::fflush(stderr);
  int saved = ::dup(2);
  ::dup2(fd, 2);
  Status status = backend.init();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  off_t written = ::lseek(fd, 0, SEEK_END);
  ::close(fd);
  ::unlink(path);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error(),
            "no device: rsmi_init failed: RSMI_STATUS_INIT_ERROR: fake init failure");
  EXPECT_EQ(written, 0) << "rsmi_init's chatter reached stderr";
}

}  // namespace
}  // namespace nightshift::telemetry
