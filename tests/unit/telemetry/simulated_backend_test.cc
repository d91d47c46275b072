#include "stages/telemetry/simulated_backend.h"

#include <gtest/gtest.h>

namespace nightshift::telemetry {
namespace {

TEST(SimulatedBackend, EverySampleIsMarkedSimulatedAndPlausible) {
  SimulatedBackend backend(config::SimulatedConfig{2, {}, 5});
  ASSERT_TRUE(backend.init().ok());
  ASSERT_EQ(backend.devices().size(), 2u);
  for (int64_t t = 0; t < 60; ++t) {
    for (std::size_t d = 0; d < 2; ++d) {
      GpuSample s;
      backend.refresh(d, t * 1'000'000'000, s);
      EXPECT_TRUE(s.simulated);
      ASSERT_TRUE(s.temp_c && s.util_pct && s.power_w && s.mem_used_bytes && s.mem_total_bytes);
      EXPECT_GE(*s.util_pct, 0);
      EXPECT_LE(*s.util_pct, 100);
      EXPECT_GT(*s.temp_c, 20);
      EXPECT_LT(*s.temp_c, 95);
      EXPECT_LE(*s.mem_used_bytes, *s.mem_total_bytes);
    }
  }
}

TEST(SimulatedBackend, EnergyIntegratesPower) {
  SimulatedBackend backend(config::SimulatedConfig{1, {}, 5});
  ASSERT_TRUE(backend.init().ok());
  GpuSample a, b;
  backend.refresh(0, 0, a);
  backend.refresh(0, 1'000'000'000, b);
  EXPECT_NEAR(*b.energy_j - *a.energy_j, *b.power_w, 1e-9);
}

TEST(SimulatedBackend, ScriptedProfileStepsBySampleCount) {
  SimulatedBackend backend(config::SimulatedConfig{1, {60, 85, 70}, 2});
  ASSERT_TRUE(backend.init().ok());
  std::vector<double> temps;
  for (int i = 0; i < 8; ++i) {
    GpuSample s;
    backend.refresh(0, i * 1'000'000, s);
    temps.push_back(*s.temp_c);
  }
  EXPECT_EQ(temps, (std::vector<double>{60, 60, 85, 85, 70, 70, 70, 70}));
}

TEST(SimulatedBackend, ZeroGpusIsUnavailable) {
  SimulatedBackend backend(config::SimulatedConfig{0, {}, 5});
  EXPECT_FALSE(backend.init().ok());
}

}  // namespace
}  // namespace nightshift::telemetry
