// The harness can see leakage, and finds none where there is none:
//  (b) a deliberately leaky feature drives AUC far above 0.5;
//  (c) on 20 pure random walks the out-of-fold AUC is ~0.5 and at most one
//      model passes the default promotion gates on the holdout;
//  (d) a planted signal of documented strength is found on the holdout.
#include <gtest/gtest.h>

#include <cmath>

#include "stages/fetcher/synthetic_source.h"
#include "stages/trainer/features.h"
#include "stages/trainer/labels.h"
#include "stages/trainer/promotion.h"
#include "stages/trainer/trial.h"

namespace nightshift::trainer {
namespace {

constexpr int kTimeframeMinutes = 15;

struct Dataset {
  Bars bars;
  FeatureMatrix features;
  std::vector<double> labels;
};

Dataset make_dataset(uint64_t seed, std::size_t bars, double signal, std::size_t horizon) {
  fetcher::SyntheticSpec s;
  s.symbol = "RW" + std::to_string(seed);
  s.timeframe_minutes = kTimeframeMinutes;
  s.bar_count = static_cast<int64_t>(bars);
  s.seed = seed;
  s.signal_strength = signal;
  Dataset d;
  d.bars = fetcher::generate_synthetic(s);
  d.features = compute_features(d.bars, default_feature_spec(), kTimeframeMinutes);
  d.labels = make_labels(d.bars.close, horizon);
  return d;
}

TrialSpec default_spec(std::size_t horizon) {
  TrialSpec spec;
  spec.horizon = horizon;
  spec.cv.n_splits = 5;
  spec.cv.embargo_bars = embargo_bars(30, kTimeframeMinutes, horizon);
  spec.model = "logreg_l2";
  spec.params = {{"C", 1.0}};
  return spec;
}

TEST(TrainerLeakage, LeakyFeatureIsCaught) {
  const std::size_t horizon = 3;
  Dataset d = make_dataset(101, 4000, 0.0, horizon);
  auto spec = default_spec(horizon);
  auto honest = run_trial({d.features, d.labels}, spec);
  ASSERT_TRUE(honest.ok()) << honest.error();
  // Leak: the return from t to t+H, the very thing the label is the sign of.
  FeatureMatrix leaky = d.features;
  leaky.values.conservativeResize(Eigen::NoChange, leaky.values.cols() + 1);
  for (Eigen::Index t = 0; t < leaky.values.rows(); ++t) {
    auto future = std::min<std::size_t>(static_cast<std::size_t>(t) + horizon, d.bars.size() - 1);
    leaky.values(t, leaky.values.cols() - 1) = std::log(d.bars.close[future] / d.bars.close[static_cast<std::size_t>(t)]);
  }
  auto leaked = run_trial({leaky, d.labels}, spec);
  ASSERT_TRUE(leaked.ok()) << leaked.error();
  EXPECT_NEAR(honest->oof_metrics["auc"], 0.5, 0.04);
  EXPECT_GT(leaked->oof_metrics["auc"], 0.9);
}

TEST(TrainerLeakage, RandomWalksLookLikeNoise) {
  const std::size_t horizon = 1;
  const config::PromotionGates gates;  // the shipped defaults
  double auc_sum = 0;
  int promoted = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    // 20k bars: a holdout of ~4k rows, so the gate's AUC has a spread of ~0.009.
    Dataset d = make_dataset(seed, 20'000, 0.0, horizon);
    auto spec = default_spec(horizon);
    auto trial = run_trial({d.features, d.labels}, spec);
    ASSERT_TRUE(trial.ok()) << trial.error();
    auc_sum += trial->oof_metrics["auc"];
    auto final_fit = run_final({d.features, d.labels}, spec);
    ASSERT_TRUE(final_fit.ok()) << final_fit.error();
    if (judge_gates(final_fit->holdout_metrics, gates).promoted) ++promoted;
  }
  double mean_auc = auc_sum / 20;
  RecordProperty("mean_oof_auc", std::to_string(mean_auc));
  RecordProperty("promoted", promoted);
  EXPECT_GE(mean_auc, 0.48);
  EXPECT_LE(mean_auc, 0.52);
  EXPECT_LE(promoted, 1);
}

TEST(TrainerLeakage, PlantedSignalIsFoundOnTheHoldout) {
  // Signal strength 0.2: the lag-1 correlation of standardised returns
  // (stages/fetcher/synthetic_source.h); a model of the previous return should
  // see it.
  const std::size_t horizon = 1;
  Dataset d = make_dataset(202, 10'000, 0.2, horizon);
  auto spec = default_spec(horizon);
  auto final_fit = run_final({d.features, d.labels}, spec);
  ASSERT_TRUE(final_fit.ok()) << final_fit.error();
  RecordProperty("holdout_auc", std::to_string(final_fit->holdout_metrics["auc"]));
  EXPECT_GE(final_fit->holdout_metrics["auc"], 0.55);
}

}  // namespace
}  // namespace nightshift::trainer
