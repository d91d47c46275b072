// No look-ahead: changing any bar after t changes no feature at t.
#include <gtest/gtest.h>

#include <random>

#include "stages/fetcher/synthetic_source.h"
#include "stages/trainer/features.h"
#include "stages/trainer/labels.h"

namespace nightshift::trainer {
namespace {

Bars sample_bars(std::size_t count) {
  fetcher::SyntheticSpec s;
  s.timeframe_minutes = 15;
  s.bar_count = static_cast<int64_t>(count);
  s.seed = 7;
  return fetcher::generate_synthetic(s);
}

// Scrambles every bar after `t` (prices, volume, timestamps).
Bars perturb_after(Bars bars, std::size_t t, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> factor(0.5, 1.5);
  for (std::size_t i = t + 1; i < bars.size(); ++i) {
    bars.open[i] *= factor(rng);
    bars.close[i] *= factor(rng);
    bars.high[i] = std::max({bars.high[i] * factor(rng), bars.open[i], bars.close[i]});
    bars.low[i] = std::min({bars.low[i] * factor(rng), bars.open[i], bars.close[i]});
    bars.volume[i] *= factor(rng) * 10;
    bars.ts[i] += 3600 * static_cast<int64_t>(i % 7);
  }
  return bars;
}

TEST(TrainerFeatures, NoFeatureAtTChangesWhenLaterBarsChange) {
  const Bars bars = sample_bars(400);
  const auto spec = default_feature_spec();
  const FeatureMatrix base = compute_features(bars, spec, 15);
  ASSERT_GE(base.cols(), 20u);
  std::mt19937_64 rng(11);
  for (std::size_t t = 0; t + 1 < bars.size(); t += 13) {
    FeatureMatrix changed = compute_features(perturb_after(bars, t, rng), spec, 15);
    for (std::size_t j = 0; j < base.cols(); ++j) {
      for (std::size_t r = 0; r <= t; ++r) {
        ASSERT_EQ(changed.values(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j)),
                  base.values(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j)))
            << base.names[j] << " at bar " << r << " changed when bars after " << t << " did";
      }
    }
  }
}

TEST(TrainerFeatures, EveryFeatureReactsToItsOwnBar) {
  // The property above would hold trivially for constant columns: check
  // that each column does depend on bars up to t.
  const Bars bars = sample_bars(400);
  const FeatureMatrix base = compute_features(bars, default_feature_spec(), 15);
  std::mt19937_64 rng(3);
  FeatureMatrix changed = compute_features(perturb_after(bars, 99, rng), default_feature_spec(), 15);
  for (std::size_t j = 0; j < base.cols(); ++j) {
    auto col = static_cast<Eigen::Index>(j);
    EXPECT_NE((changed.values.col(col).tail(300) - base.values.col(col).tail(300)).norm(), 0.0)
        << base.names[j];
  }
}

TEST(TrainerFeatures, SpecIsNamedVersionedAndCalendarOnlyIntraday) {
  const Bars bars = sample_bars(100);
  auto spec = default_feature_spec();
  EXPECT_EQ(spec.id(), "ohlcv_basic/v1");
  auto intraday = compute_features(bars, spec, 15);
  auto daily = compute_features(bars, spec, 1440);
  EXPECT_EQ(intraday.cols(), daily.cols() + 4);
  EXPECT_EQ(intraday.spec_id, "ohlcv_basic/v1");
  EXPECT_GT(intraday.first_valid_row, 30u);
  EXPECT_TRUE(intraday.values.allFinite());
}

TEST(TrainerLabels, SignOfForwardReturnAndNoLabelForTheLastH) {
  std::vector<double> close = {10, 11, 10.5, 10.5, 12, 11};
  auto h1 = make_labels(close, 1);
  EXPECT_EQ(h1, (std::vector<double>{1, 0, 0, 1, 0}));  // equal close is not > 0
  auto h2 = make_labels(close, 2);
  EXPECT_EQ(h2, (std::vector<double>{1, 0, 1, 1}));
  EXPECT_TRUE(make_labels(close, 6).empty());
}

}  // namespace
}  // namespace nightshift::trainer
