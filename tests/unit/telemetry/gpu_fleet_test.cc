#include "stages/telemetry/gpu_fleet.h"

#include <gtest/gtest.h>

#include "stages/telemetry/simulated_backend.h"
#include "stages/telemetry/sysfs_backend.h"

namespace nightshift::telemetry {
namespace {

std::string fixture(const std::string& name) {
  return std::string(TELEMETRY_FIXTURES) + "/" + name;
}

TEST(GpuFleet, SameCardFromTwoBackendsIsServedOnce) {
  std::vector<std::unique_ptr<GpuBackend>> backends;
  backends.push_back(std::make_unique<SysfsBackend>(fixture("sysfs_amdgpu")));
  backends.push_back(std::make_unique<SysfsBackend>(fixture("sysfs_amdgpu")));  // same PCI id
  backends.push_back(std::make_unique<SysfsBackend>(fixture("sysfs_xe")));
  backends.push_back(std::make_unique<SimulatedBackend>(config::SimulatedConfig{1, {}, 5}));
  GpuFleet fleet(std::move(backends), "hostA");
  ASSERT_EQ(fleet.device_count(), 3u);
  ASSERT_EQ(fleet.reports().size(), 4u);
  EXPECT_EQ(fleet.reports()[0].devices, 1u);
  EXPECT_EQ(fleet.reports()[1].devices, 0u);
  EXPECT_TRUE(fleet.reports()[1].available);

  auto samples = fleet.sample(1'000'000'000);
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].backend, "sysfs");
  EXPECT_EQ(samples[0].pci_bus_id, "0000:03:00.0");
  EXPECT_EQ(samples[1].pci_bus_id, "0000:04:00.0");
  EXPECT_EQ(samples[2].backend, "simulated");
  EXPECT_TRUE(samples[2].simulated);
  EXPECT_FALSE(samples[0].simulated);
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(samples[i].index, i);
    EXPECT_EQ(samples[i].host, "hostA");
  }
  auto inventory = fleet.inventory();
  ASSERT_EQ(inventory.devices.size(), 3u);
  EXPECT_EQ(inventory.devices[0].name, "AMD Radeon RX 7900 XTX");
  EXPECT_TRUE(inventory.devices[2].simulated);
}

TEST(GpuFleet, SimulatedOnlyWhenConfigured) {
  config::TelemetryConfig config;
  config.backends = {"sysfs"};
  config.sysfs_root = fixture("proc");  // no DRM devices
  GpuFleet fleet = GpuFleet::open(config, "hostA");
  EXPECT_EQ(fleet.device_count(), 0u);
  ASSERT_EQ(fleet.reports().size(), 1u);
  EXPECT_FALSE(fleet.reports()[0].available);
  EXPECT_EQ(fleet.reports()[0].reason.rfind("no device: ", 0), 0u);
}

TEST(GpuFleet, UnknownBackendNameMakesNothing) {
  EXPECT_EQ(make_backend("cuda", config::TelemetryConfig{}), nullptr);
  EXPECT_NE(make_backend("simulated", config::TelemetryConfig{}), nullptr);
}

}  // namespace
}  // namespace nightshift::telemetry
