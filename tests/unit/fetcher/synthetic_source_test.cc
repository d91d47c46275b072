#include "stages/fetcher/synthetic_source.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "schema/codec.h"

namespace nightshift::fetcher {
namespace {

std::string bytes_of(const Bars& bars) {
  msgpack::sbuffer buffer;
  wire::Packer pk(buffer);
  wire::pack_value(pk, bars);
  return std::string(buffer.data(), buffer.size());
}

SyntheticSpec spec_with(double signal, int64_t count, uint64_t seed = 7) {
  SyntheticSpec spec;
  spec.symbol = "BTCUSDT";
  spec.timeframe_minutes = 60;
  spec.bar_count = count;
  spec.seed = seed;
  spec.signal_strength = signal;
  return spec;
}

TEST(SyntheticSource, SameSeedSameBytes) {
  auto a = generate_synthetic(spec_with(0.2, 5000));
  auto b = generate_synthetic(spec_with(0.2, 5000));
  ASSERT_EQ(a.size(), 5000u);
  EXPECT_EQ(bytes_of(a), bytes_of(b));
}

TEST(SyntheticSource, OtherSeedOrSymbolGivesOtherPath) {
  auto a = generate_synthetic(spec_with(0.0, 100, 1));
  auto b = generate_synthetic(spec_with(0.0, 100, 2));
  auto spec = spec_with(0.0, 100, 1);
  spec.symbol = "ETHUSDT";
  auto c = generate_synthetic(spec);
  EXPECT_NE(a.close, b.close);
  EXPECT_NE(a.close, c.close);
}

TEST(SyntheticSource, BarsAreValidOhlcvOnAGrid) {
  auto spec = spec_with(0.3, 2000);
  spec.start_ts = 1'704'067'200 + 17;  // not aligned: aligned down to the hour
  auto bars = generate_synthetic(spec);
  ASSERT_EQ(bars.size(), 2000u);
  EXPECT_EQ(bars.ts[0], 1'704'067'200);
  for (std::size_t i = 0; i < bars.size(); ++i) {
    if (i > 0) {
      EXPECT_EQ(bars.ts[i] - bars.ts[i - 1], 3600);
    }
    EXPECT_GT(bars.low[i], 0.0);
    EXPECT_LE(bars.low[i], std::min(bars.open[i], bars.close[i]));
    EXPECT_GE(bars.high[i], std::max(bars.open[i], bars.close[i]));
    EXPECT_GT(bars.volume[i], 0.0);
    EXPECT_TRUE(std::isfinite(bars.close[i]));
  }
}

TEST(SyntheticSource, PlantedSignalIsMeasurable) {
  double none = lag1_return_correlation(generate_synthetic(spec_with(0.0, 20000)));
  double weak = lag1_return_correlation(generate_synthetic(spec_with(0.1, 20000)));
  double strong = lag1_return_correlation(generate_synthetic(spec_with(0.3, 20000)));
  EXPECT_LT(std::abs(none), 0.03);
  EXPECT_NEAR(weak, 0.1, 0.04);
  EXPECT_NEAR(strong, 0.3, 0.05);
}

TEST(SyntheticSource, VolatilityClusters) {
  // Squared returns are autocorrelated under GARCH; under constant vol they are not.
  auto bars = generate_synthetic(spec_with(0.0, 20000));
  std::vector<double> sq;
  for (std::size_t i = 1; i < bars.size(); ++i) {
    double r = std::log(bars.close[i] / bars.close[i - 1]);
    sq.push_back(r * r);
  }
  double mean = 0;
  for (double x : sq) mean += x;
  mean /= static_cast<double>(sq.size());
  double num = 0, den = 0;
  for (std::size_t i = 0; i + 1 < sq.size(); ++i) num += (sq[i] - mean) * (sq[i + 1] - mean);
  for (double x : sq) den += (x - mean) * (x - mean);
  EXPECT_GT(num / den, 0.05);
}

TEST(SyntheticSource, InvalidSpecGivesNoBars) {
  auto spec = spec_with(1.5, 10);
  EXPECT_EQ(generate_synthetic(spec).size(), 0u);
  spec = spec_with(0.0, 10);
  spec.timeframe_minutes = 0;
  EXPECT_EQ(generate_synthetic(spec).size(), 0u);
}

}  // namespace
}  // namespace nightshift::fetcher

namespace nightshift::fetcher {
namespace {

TEST(SyntheticSource, WindowsOfOnePathAgree) {
  SyntheticSource source(42, 0.1, {{"ETHUSDT", 0.3}});
  auto whole = source.fetch({"BTCUSDT", "1h", 1'704'067'200, 1'704'067'200 + 48 * 3600}, {});
  auto tail = source.fetch({"BTCUSDT", "1h", 1'704'067'200 + 24 * 3600, 1'704'067'200 + 48 * 3600}, {});
  ASSERT_TRUE(whole.ok() && tail.ok());
  ASSERT_EQ(whole->size(), 48u);
  ASSERT_EQ(tail->size(), 24u);
  for (std::size_t i = 0; i < 24; ++i) {
    EXPECT_EQ(tail->ts[i], whole->ts[24 + i]);
    EXPECT_EQ(tail->close[i], whole->close[24 + i]);
    EXPECT_EQ(tail->volume[i], whole->volume[24 + i]);
  }
  EXPECT_FALSE(source.fetch({"BTCUSDT", "7x", 0, 10}, {}).ok());
}

}  // namespace
}  // namespace nightshift::fetcher
