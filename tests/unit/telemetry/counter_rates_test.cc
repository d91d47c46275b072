#include "stages/telemetry/counter_rates.h"

#include <gtest/gtest.h>

namespace nightshift::telemetry {
namespace {

TEST(PowerFromEnergy, MicrojoulesPerMicrosecondAreWatts) {
  // 150 J over 1.5 s is 100 W.
  auto w = power_w_from_energy({1'000'000, 10'000'000}, {151'000'000, 11'500'000});
  ASSERT_TRUE(w.ok()) << w.error();
  EXPECT_DOUBLE_EQ(*w, 100.0);
}

TEST(PowerFromEnergy, ZeroTimeStepGivesNoValue) {
  auto w = power_w_from_energy({100, 5'000}, {200, 5'000});
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().find("no time elapsed"), std::string::npos);
}

TEST(PowerFromEnergy, CounterWrapGivesNoValue) {
  auto w = power_w_from_energy({900, 1'000}, {100, 2'000});
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().find("backwards"), std::string::npos);
}

TEST(BusyFromActivity, ActiveOverElapsedIsPercent) {
  auto pct = busy_pct_from_activity({0, 0}, {250'000, 1'000'000});
  ASSERT_TRUE(pct.ok()) << pct.error();
  EXPECT_DOUBLE_EQ(*pct, 25.0);
}

TEST(BusyFromActivity, ZeroDeltaIsGuarded) {
  auto pct = busy_pct_from_activity({500, 1'000}, {500, 1'000});
  EXPECT_FALSE(pct.ok());
}

TEST(BusyFromActivity, ClampsToHundred) {
  // Several engines in one group can report more active time than wall time.
  auto pct = busy_pct_from_activity({0, 0}, {3'000, 1'000});
  ASSERT_TRUE(pct.ok());
  EXPECT_DOUBLE_EQ(*pct, 100.0);
}

TEST(CounterRate, FirstReadingHasNoRateSecondHas) {
  CounterRate rate(power_w_from_energy);
  auto first = rate.update({5'000'000, 1'000'000});
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.error().find("first reading"), std::string::npos);
  auto second = rate.update({7'000'000, 2'000'000});
  ASSERT_TRUE(second.ok());
  EXPECT_DOUBLE_EQ(*second, 2.0);
  auto same_time = rate.update({8'000'000, 2'000'000});
  EXPECT_FALSE(same_time.ok());
}

}  // namespace
}  // namespace nightshift::telemetry
