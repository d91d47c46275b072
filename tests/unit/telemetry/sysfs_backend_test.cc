#include "stages/telemetry/sysfs_backend.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace nightshift::telemetry {
namespace {

namespace fs = std::filesystem;

std::string fixture(const std::string& name) {
  return std::string(TELEMETRY_FIXTURES) + "/" + name;
}

// A private copy of a fixture tree, so a test can move counters.
std::string copy_fixture(const std::string& name) {
  fs::path dir =
      fs::temp_directory_path() / ("nightshift-sysfs-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(fixture(name), dir, fs::copy_options::recursive);
  return dir.string();
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(SysfsBackend, AmdgpuFixtureReadsEveryField) {
  SysfsBackend backend(fixture("sysfs_amdgpu"));
  ASSERT_TRUE(backend.init().ok());
  ASSERT_EQ(backend.devices().size(), 1u);  // card0-DP-1 is a connector, not a card
  EXPECT_EQ(backend.devices()[0].name, "AMD Radeon RX 7900 XTX");
  EXPECT_EQ(backend.devices()[0].pci_bus_id, "0000:03:00.0");
  EXPECT_EQ(backend.driver(0), "amdgpu");
  GpuSample s;
  backend.refresh(0, 1'000'000'000, s);
  EXPECT_EQ(s.util_pct, 37.0);
  EXPECT_EQ(s.mem_used_bytes, 2147483648u);
  EXPECT_EQ(s.mem_total_bytes, 25753026560u);
  EXPECT_EQ(s.temp_c, 54.0);
  EXPECT_EQ(s.temp_junction_c, 61.0);
  EXPECT_EQ(s.temp_mem_c, 58.0);
  EXPECT_EQ(s.power_w, 187.0);  // power1_average is in µW
  EXPECT_EQ(s.fan_rpm, 1450.0);
  ASSERT_TRUE(s.fan_pct.has_value());
  EXPECT_NEAR(*s.fan_pct, 40.0, 0.01);  // pwm1 102/255
  EXPECT_EQ(s.sm_clock_mhz, 1850.0);    // the '*' level of pp_dpm_sclk
  EXPECT_EQ(s.mem_clock_mhz, 1249.0);
  ASSERT_EQ(s.unavailable.size(), 1u);  // the fixture has no energy counter
  EXPECT_EQ(s.unavailable.at("energy_j"), "no energy1_input");
}

TEST(SysfsBackend, I915PowerComesFromEnergyCounterRate) {
  std::string root = copy_fixture("sysfs_i915");
  SysfsBackend backend(root);
  ASSERT_TRUE(backend.init().ok());
  ASSERT_EQ(backend.devices().size(), 1u);
  EXPECT_EQ(backend.driver(0), "i915");
  std::string energy = root + "/class/drm/card0/device/hwmon/hwmon2/energy1_input";

  GpuSample first;
  backend.refresh(0, 1'000'000'000, first);
  EXPECT_FALSE(first.power_w.has_value());
  EXPECT_EQ(first.unavailable.count("power_w"), 1u);
  EXPECT_EQ(first.sm_clock_mhz, 1150.0);  // gt_act_freq_mhz, not gt_cur_freq_mhz (1200)
  EXPECT_EQ(first.fan_rpm, 1200.0);
  EXPECT_EQ(first.energy_j, 123.0);
  EXPECT_EQ(first.unavailable.count("util_pct"), 1u);  // needs the perf PMU
  EXPECT_EQ(first.unavailable.count("mem_used_bytes"), 1u);

  write(energy, "168000000\n");  // +45 J
  GpuSample second;
  backend.refresh(0, 1'500'000'000, second);  // over 0.5 s
  ASSERT_TRUE(second.power_w.has_value());
  EXPECT_DOUBLE_EQ(*second.power_w, 90.0);
  EXPECT_EQ(second.unavailable.count("power_w"), 0u);
  std::filesystem::remove_all(root);
}

TEST(SysfsBackend, XeFixtureSkipsNonGpuCardsAndReadsLabelledTemps) {
  std::string root = copy_fixture("sysfs_xe");
  SysfsBackend backend(root);
  ASSERT_TRUE(backend.init().ok());
  ASSERT_EQ(backend.devices().size(), 1u);  // card0 is simpledrm
  EXPECT_EQ(backend.driver(0), "xe");
  EXPECT_EQ(backend.devices()[0].pci_bus_id, "0000:04:00.0");
  GpuSample s;
  backend.refresh(0, 2'000'000'000, s);
  EXPECT_EQ(s.temp_c, 47.0);      // pkg
  EXPECT_EQ(s.temp_mem_c, 52.0);  // vram
  EXPECT_EQ(s.sm_clock_mhz, 2800.0);  // act_freq, not cur_freq (2850)
  EXPECT_EQ(s.unavailable.count("fan_rpm"), 1u);
  EXPECT_EQ(s.unavailable.count("mem_clock_mhz"), 1u);

  write(root + "/class/drm/card1/device/hwmon/hwmon4/energy1_input", "5000000\n");
  GpuSample same;
  backend.refresh(0, 2'000'000'000, same);  // same time: Δt = 0 guarded
  EXPECT_FALSE(same.power_w.has_value());
  EXPECT_NE(same.unavailable.at("power_w").find("no time elapsed"), std::string::npos);
  std::filesystem::remove_all(root);
}

TEST(SysfsBackend, MissingFileIsUnavailableNotZero) {
  std::string root = copy_fixture("sysfs_amdgpu");
  std::filesystem::remove(root + "/class/drm/card0/device/gpu_busy_percent");
  write(root + "/class/drm/card0/device/pp_dpm_sclk", "0: 500Mhz\n1: 1850Mhz\n");
  SysfsBackend backend(root);
  ASSERT_TRUE(backend.init().ok());
  GpuSample s;
  backend.refresh(0, 1, s);
  EXPECT_FALSE(s.util_pct.has_value());
  EXPECT_NE(s.unavailable.at("util_pct").find("gpu_busy_percent"), std::string::npos);
  EXPECT_FALSE(s.sm_clock_mhz.has_value());
  EXPECT_NE(s.unavailable.at("sm_clock_mhz").find("marked current"), std::string::npos);
  EXPECT_EQ(s.temp_c, 54.0);  // the rest of the sample is kept
  std::filesystem::remove_all(root);
}

// i915 and xe: the clock the GPU runs at (act), not the one requested (cur);
// without the act file the clock is unavailable, never the request instead.
TEST(SysfsBackend, IntelClockIsTheActualNotTheRequestedFrequency) {
  struct Case {
    const char* fixture;
    const char* act_file;
    double act_mhz;
  };
  for (const Case& c :
       {Case{"sysfs_i915", "/class/drm/card0/gt_act_freq_mhz", 1150},
        Case{"sysfs_xe", "/class/drm/card1/device/tile0/gt0/freq0/act_freq", 2800}}) {
    std::string root = copy_fixture(c.fixture);
    SysfsBackend backend(root);
    ASSERT_TRUE(backend.init().ok());
    GpuSample s;
    backend.refresh(0, 1, s);
    EXPECT_EQ(s.sm_clock_mhz, c.act_mhz) << c.fixture;

    write(root + c.act_file, "0\n");  // idle (RC6): the GPU runs at 0 MHz
    GpuSample idle;
    backend.refresh(0, 2, idle);
    EXPECT_EQ(idle.sm_clock_mhz, 0.0) << c.fixture;

    std::filesystem::remove(root + c.act_file);
    GpuSample missing;
    backend.refresh(0, 3, missing);
    EXPECT_FALSE(missing.sm_clock_mhz.has_value()) << c.fixture;
    std::string why =
        missing.unavailable.count("sm_clock_mhz") ? missing.unavailable.at("sm_clock_mhz") : "";
    EXPECT_NE(why.find(std::filesystem::path(c.act_file).filename().string()), std::string::npos)
        << c.fixture << ": " << why;
    std::filesystem::remove_all(root);
  }
}

// Newer amdgpu kernels expose only power1_input (current), no power1_average.
TEST(SysfsBackend, AmdgpuWithOnlyPower1Input) {
  std::string root = copy_fixture("sysfs_amdgpu");
  std::string hwmon = root + "/class/drm/card0/device/hwmon/hwmon3";
  std::filesystem::remove(hwmon + "/power1_average");
  write(hwmon + "/power1_input", "95500000\n");
  SysfsBackend backend(root);
  ASSERT_TRUE(backend.init().ok());
  GpuSample s;
  backend.refresh(0, 1, s);
  EXPECT_EQ(s.power_w, 95.5);
  EXPECT_EQ(s.unavailable.count("power_w"), 0u);

  std::filesystem::remove(hwmon + "/power1_input");
  GpuSample none;
  backend.refresh(0, 2, none);
  EXPECT_FALSE(none.power_w.has_value());
  EXPECT_NE(none.unavailable.at("power_w").find("power1_input"), std::string::npos);
  std::filesystem::remove_all(root);
}

TEST(SysfsBackend, NoDrmDirectoryIsUnavailable) {
  SysfsBackend backend(fixture("proc"));
  Status status = backend.init();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().rfind("no device: ", 0), 0u);
}

}  // namespace
}  // namespace nightshift::telemetry
