// The fleet over every vendor backend, each on its fake library, plus the
// sysfs fallback on a fake tree holding the same AMD and Intel cards: each
// card is served once, by its native backend, and sysfs serves none.
#include <gtest/gtest.h>
#include <level_zero/zes_api.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "stages/telemetry/gpu_fleet.h"
#include "stages/telemetry/levelzero_backend.h"
#include "stages/telemetry/nvml_backend.h"
#include "stages/telemetry/rocm_backend.h"
#include "stages/telemetry/sysfs_backend.h"
#include "tests/unit/telemetry/contract/fake_vendor.h"

namespace nightshift::telemetry {
namespace {

namespace fs = std::filesystem;
using testing::fake_library;
using testing::FakeScenario;

// A sysfs tree with the amdgpu card (0000:03:00.0) as card0 and the xe card
// (0000:04:00.0) as card1.
std::string amd_and_intel_tree() {
  fs::path root = fs::temp_directory_path() / ("nightshift-fleet-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "class/drm");
  std::string fixtures = TELEMETRY_FIXTURES;
  fs::copy(fixtures + "/sysfs_amdgpu/class/drm/card0", root / "class/drm/card0",
           fs::copy_options::recursive);
  fs::copy(fixtures + "/sysfs_xe/class/drm/card1", root / "class/drm/card1",
           fs::copy_options::recursive);
  return root.string();
}

TEST(FleetContract, EachCardServedOnceByItsNativeBackend) {
  FakeScenario nvml("NIGHTSHIFT_FAKE_NVML",
                    "count = 1\n0.name = Fake A100\n0.pci = 00000000:3B:00.0\n");
  FakeScenario rocm("NIGHTSHIFT_FAKE_ROCM", "count = 1\n0.name = Fake RX 7900\n0.bdfid = 0x300\n");
  // The 1.8 loader with an inherited ZES_ENABLE_SYSMAN=0.
  FakeScenario level_zero("NIGHTSHIFT_FAKE_LEVEL_ZERO",
                          "count = 1\n0.name = Intel Arc B580\n0.pci = 0000:04:00.0\n");
  ::setenv("ZES_ENABLE_SYSMAN", "0", 1);
  std::string tree = amd_and_intel_tree();
  std::vector<std::unique_ptr<GpuBackend>> backends;
  backends.push_back(std::make_unique<NvmlBackend>(fake_library("libnvidia-ml.so.1")));
  backends.push_back(
      std::make_unique<LevelZeroBackend>(fake_library("loader_1_8/libze_loader.so.1")));
  backends.push_back(std::make_unique<RocmBackend>(fake_library("librocm_smi64.so")));
  backends.push_back(std::make_unique<SysfsBackend>(tree));
  GpuFleet fleet(std::move(backends), "hostA");
  ::unsetenv("ZES_ENABLE_SYSMAN");

  auto inventory = fleet.inventory();
  ASSERT_EQ(inventory.devices.size(), 3u);
  EXPECT_EQ(inventory.devices[0].backend, "nvml");
  EXPECT_EQ(inventory.devices[0].pci_bus_id, "0000:3b:00.0");
  EXPECT_EQ(inventory.devices[1].backend, "levelzero");
  EXPECT_EQ(inventory.devices[1].name, "Intel Arc B580");
  EXPECT_EQ(inventory.devices[1].pci_bus_id, "0000:04:00.0");
  EXPECT_EQ(inventory.devices[2].backend, "rocm");
  EXPECT_EQ(inventory.devices[2].pci_bus_id, "0000:03:00.0");
  ASSERT_EQ(fleet.reports().size(), 4u);
  EXPECT_TRUE(fleet.reports()[3].available);
  EXPECT_EQ(fleet.reports()[3].devices, 0u) << "sysfs served a card a native backend serves";
  fs::remove_all(tree);
}

}  // namespace
}  // namespace nightshift::telemetry
