// LevelZeroBackend against a fake Level Zero loader: exact samples in wire
// units, multi-tile power, memory and engine domains, temperature sensors
// that partly fail, an energy counter that wraps, and both init paths
// (zesInit, and ZES_ENABLE_SYSMAN + zeInit) including a failing zesInit.
#include <gtest/gtest.h>
#include <level_zero/zes_api.h>
#include <stdlib.h>

#include <string>

#include "stages/telemetry/levelzero_backend.h"
#include "tests/unit/telemetry/contract/fake_vendor.h"

namespace nightshift::telemetry {
namespace {

using testing::expect_every_field_set_or_explained;
using testing::fake_library;
using testing::FakeScenario;
using testing::reason;

constexpr const char* kEnv = "NIGHTSHIFT_FAKE_LEVEL_ZERO";

// Device 0: one tile, every sensor; device 1: nothing but a name.
constexpr const char* kTwoDevices = R"(
count = 2
0.name = Intel Arc A770
0.pci = 0000:03:00.0
0.temps = gpu memory
0.temp.0 = 45.5
0.temp.1 = 50
0.power = card
0.card_power = ok
0.energy.card = 1000000, 151000000
0.energy_ts.card = 1000000, 2000000
0.memory = device
0.mem.0.physical = 17179869184
0.mem.0.size = 16106127360
0.mem.0.free = 12884901888
0.freqs = gpu memory
0.freq.0.actual = 2100
0.freq.1.actual = 1000
0.engines = compute_all all
0.engine.1.active = 100000, 600000
0.engine.1.ts = 1000000, 2000000
0.fans = 1
0.fan.rpm = 1500
0.fan.pct = 40
1.name = Intel Data Center GPU Flex 170
1.pci = 0000:04:00.0
)";

std::vector<GpuSample> two_samples(LevelZeroBackend& backend, std::size_t device) {
  std::vector<GpuSample> out(2);
  backend.refresh(device, 1, out[0]);
  backend.refresh(device, 2, out[1]);
  return out;
}

TEST(LevelZeroContract, TwoDevicesInWireUnits) {
  FakeScenario scenario(kEnv, kTwoDevices);
  LevelZeroBackend backend(fake_library("libze_loader.so.1"));
  Status status = backend.init();
  ASSERT_TRUE(status.ok()) << status.error();
  ASSERT_EQ(backend.devices().size(), 2u);
  EXPECT_EQ(backend.devices()[0].name, "Intel Arc A770");
  EXPECT_EQ(backend.devices()[0].pci_bus_id, "0000:03:00.0");

  auto s = two_samples(backend, 0);
  EXPECT_EQ(reason(s[0], "power_w"), "first reading; a rate needs two");
  EXPECT_EQ(s[1].temp_c, 45.5);
  EXPECT_EQ(s[1].temp_mem_c, 50.0);
  EXPECT_EQ(s[1].energy_j, 151.0);                // µJ -> J
  EXPECT_EQ(s[1].power_w, 150.0);                 // 150 J over 1 s
  EXPECT_EQ(s[1].mem_used_bytes, 3221225472u);    // size - free
  EXPECT_EQ(s[1].mem_total_bytes, 16106127360u);  // allocatable size
  EXPECT_EQ(s[1].sm_clock_mhz, 2100.0);
  EXPECT_EQ(s[1].mem_clock_mhz, 1000.0);
  EXPECT_EQ(s[1].util_pct, 50.0);  // the all-engines group, not compute
  EXPECT_EQ(s[1].fan_rpm, 1500.0);
  EXPECT_EQ(s[1].fan_pct, 40.0);
  for (const auto& sample : s) expect_every_field_set_or_explained(sample);

  auto bare = two_samples(backend, 1);
  EXPECT_EQ(reason(bare[1], "temp_c"), "no such sensor");
  EXPECT_EQ(reason(bare[1], "power_w"), "no power domain");
  EXPECT_EQ(reason(bare[1], "fan_pct"), "no fan reported");
  for (const auto& sample : bare) expect_every_field_set_or_explained(sample);
}

// Two tiles: the card's power domain (not the first enumerated, one tile's),
// device-local memory of both tiles without the system module, the
// device-level engine group.
constexpr const char* kMultiTile = R"(
count = 1
0.name = Intel Data Center GPU Max 1550
0.pci = 0000:3a:00.0
0.power = tile0 tile1
0.card_power = ok
0.energy.card = 0, 600000000
0.energy_ts.card = 0, 1000000
0.energy.tile0 = 0, 250000000
0.energy_ts.tile0 = 0, 1000000
0.energy.tile1 = 0, 300000000
0.energy_ts.tile1 = 0, 1000000
0.memory = device@tile0 device@tile1 system
0.mem.0.physical = 68719476736
0.mem.0.size = 68000000000
0.mem.0.free = 60000000000
0.mem.1.physical = 68719476736
0.mem.1.size = 68000000000
0.mem.1.free = 58000000000
0.mem.2.physical = 549755813888
0.mem.2.size = 500000000000
0.mem.2.free = 100000000000
0.engines = all all@tile0 all@tile1
0.engine.0.active = 0, 300000
0.engine.0.ts = 0, 1000000
0.engine.1.active = 0, 100000
0.engine.1.ts = 0, 1000000
0.engine.2.active = 0, 500000
0.engine.2.ts = 0, 1000000
)";

TEST(LevelZeroContract, MultiTileReadsTheWholeCard) {
  FakeScenario scenario(kEnv, kMultiTile);
  LevelZeroBackend backend(fake_library("libze_loader.so.1"));
  ASSERT_TRUE(backend.init().ok());
  GpuSample s = two_samples(backend, 0)[1];
  EXPECT_EQ(s.power_w, 600.0);
  EXPECT_EQ(s.energy_j, 600.0);
  EXPECT_EQ(s.mem_used_bytes, 18000000000u);
  EXPECT_EQ(s.mem_total_bytes, 136000000000u);
  EXPECT_EQ(s.util_pct, 30.0);
  expect_every_field_set_or_explained(s);
}

// Without a card domain or device-level group, the tiles add up (energy)
// or average (busy).
TEST(LevelZeroContract, MultiTileWithoutCardDomainSumsTheTiles) {
  std::string script = kMultiTile;
  script += "0.card_power = !" + std::to_string(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE) +
            "\n0.engines = all@tile0 all@tile1\n0.engine.0.active = 0, 100000\n"
            "0.engine.1.active = 0, 500000\n";
  FakeScenario scenario(kEnv, script);
  LevelZeroBackend backend(fake_library("libze_loader.so.1"));
  ASSERT_TRUE(backend.init().ok());
  GpuSample s = two_samples(backend, 0)[1];
  EXPECT_EQ(s.power_w, 550.0);
  EXPECT_EQ(s.energy_j, 550.0);
  EXPECT_EQ(s.util_pct, 30.0);
  expect_every_field_set_or_explained(s);
}

TEST(LevelZeroContract, OnlySystemMemoryIsNoVram) {
  FakeScenario scenario(kEnv,
                        "count = 1\n0.memory = system\n0.mem.0.size = 100\n0.mem.0.free = 1\n");
  LevelZeroBackend backend(fake_library("libze_loader.so.1"));
  ASSERT_TRUE(backend.init().ok());
  GpuSample s = two_samples(backend, 0)[1];
  EXPECT_FALSE(s.mem_used_bytes.has_value());
  EXPECT_EQ(reason(s, "mem_used_bytes"), "no device-local memory module");
  expect_every_field_set_or_explained(s);
}

// One sensor of several failing: the field holds the others' maximum and is
// not also marked unavailable; all failing: unavailable with the reason.
TEST(LevelZeroContract, TemperatureSensorsThatPartlyFail) {
  const std::string dependency = "!" + std::to_string(ZE_RESULT_ERROR_DEPENDENCY_UNAVAILABLE);
  for (const auto& [temps, expected] :
       {std::pair{"0.temp.0 = 60\n0.temp.1 = " + dependency, 60.0},
        std::pair{"0.temp.0 = " + dependency + "\n0.temp.1 = 62", 62.0},
        std::pair{std::string("0.temp.0 = 60\n0.temp.1 = 66"), 66.0}}) {
    FakeScenario scenario(kEnv, "count = 1\n0.temps = gpu gpu\n" + temps + "\n");
    LevelZeroBackend backend(fake_library("libze_loader.so.1"));
    ASSERT_TRUE(backend.init().ok());
    GpuSample s = two_samples(backend, 0)[1];
    EXPECT_EQ(s.temp_c, expected) << temps;
    expect_every_field_set_or_explained(s);
  }
  FakeScenario scenario(kEnv, "count = 1\n0.temps = gpu gpu\n0.temp.0 = " + dependency +
                                  "\n0.temp.1 = " + dependency + "\n");
  LevelZeroBackend backend(fake_library("libze_loader.so.1"));
  ASSERT_TRUE(backend.init().ok());
  GpuSample s = two_samples(backend, 0)[1];
  EXPECT_NE(reason(s, "temp_c").find("DEPENDENCY_UNAVAILABLE"), std::string::npos);
  expect_every_field_set_or_explained(s);
}

TEST(LevelZeroContract, EnergyCounterThatWrapsGivesNoPowerForThatStep) {
  FakeScenario scenario(kEnv,
                        "count = 1\n0.power = card\n0.card_power = ok\n"
                        "0.energy.card = 1000000, 2000000, 500000, 1500000\n"
                        "0.energy_ts.card = 1000000, 2000000, 3000000, 4000000\n");
  LevelZeroBackend backend(fake_library("libze_loader.so.1"));
  ASSERT_TRUE(backend.init().ok());
  std::vector<GpuSample> s(4);
  for (int i = 0; i < 4; ++i) backend.refresh(0, i, s[i]);
  EXPECT_EQ(s[1].power_w, 1.0);
  EXPECT_FALSE(s[2].power_w.has_value());
  EXPECT_EQ(reason(s[2], "power_w"), "counter went backwards (wrap or reset)");
  EXPECT_EQ(s[2].energy_j, 0.5);
  EXPECT_EQ(s[3].power_w, 1.0);
  for (const auto& sample : s) expect_every_field_set_or_explained(sample);
}

// zesInit present but failing, and an inherited ZES_ENABLE_SYSMAN=0: the
// backend still gets Sysman through zeInit, so the device has its name and
// PCI id (without them the sysfs backend would serve the card again).
TEST(LevelZeroContract, FailingZesInitFallsBackToSysmanThroughZeInit) {
  for (const char* library : {"libze_loader.so.1", "loader_1_8/libze_loader.so.1"}) {
    ::setenv("ZES_ENABLE_SYSMAN", "0", 1);
    FakeScenario scenario(kEnv, "zes_init = !" + std::to_string(ZE_RESULT_ERROR_UNINITIALIZED) +
                                    "\ncount = 1\n0.name = Intel Arc B580\n0.pci = 0000:04:00.0\n");
    LevelZeroBackend backend(fake_library(library));
    Status status = backend.init();
    ASSERT_TRUE(status.ok()) << library << ": " << status.error();
    ASSERT_EQ(backend.devices().size(), 1u);
    EXPECT_EQ(backend.devices()[0].name, "Intel Arc B580") << library;
    EXPECT_EQ(backend.devices()[0].pci_bus_id, "0000:04:00.0") << library;
    ::unsetenv("ZES_ENABLE_SYSMAN");
  }
}

TEST(LevelZeroContract, BothInitPathsFailingIsNoDeviceWithBothReasons) {
  FakeScenario scenario(kEnv, "zes_init = !" + std::to_string(ZE_RESULT_ERROR_UNINITIALIZED) +
                                  "\nze_init = !" + std::to_string(ZE_RESULT_ERROR_UNINITIALIZED) +
                                  "\n");
  LevelZeroBackend backend(fake_library("libze_loader.so.1"));
  Status status = backend.init();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().rfind("no device: ", 0), 0u) << status.error();
  EXPECT_NE(status.error().find("zesInit"), std::string::npos) << status.error();
  EXPECT_NE(status.error().find("zeInit"), std::string::npos) << status.error();
}

}  // namespace
}  // namespace nightshift::telemetry
