// The harness can see leakage, and finds none where there is none:
//  (b) a deliberately leaky feature drives AUC far above 0.5;
//  (c) on 20 pure random walks the mean out-of-fold AUC is within 4 standard
//      errors (~0.004) of 0.5 while a planted leak of about +0.01 is caught,
//      and at most one model passes the per-study gates on the holdout;
//  (d) a planted signal of documented strength is found on the holdout.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

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

// The harness's no-leak check, sized to what it measures: the mean
// out-of-fold AUC over walks must be within 4 standard errors of 0.5, the
// standard error being the Mann-Whitney null spread of one walk's AUC
// (rows independent at h = 1) over sqrt(walks). With 20 walks of 20,000 bars
// that is about +-0.004: a systematic leak of +0.01 fails it.
struct LeakCheck {
  double mean_auc = 0;
  double bound = 0;  // allowed |mean - 0.5|
  bool clean() const { return std::abs(mean_auc - 0.5) <= bound; }
};

LeakCheck check_no_leak(const std::vector<double>& aucs, const std::vector<std::size_t>& rows) {
  double sum = 0, variance = 0;
  for (std::size_t i = 0; i < aucs.size(); ++i) {
    sum += aucs[i];
    const double n = static_cast<double>(rows[i]);
    variance += (n + 1) / (12.0 * (n / 2) * (n / 2));  // null variance, balanced classes
  }
  const double walks = static_cast<double>(aucs.size());
  return LeakCheck{sum / walks, 4 * std::sqrt(variance) / walks};
}

// A feature that knows a little of the future: noise plus `strength` times
// the label's sign. It is the kind of leak a bad join or a centred window
// makes, small enough that AUC moves by about +0.01.
FeatureMatrix with_small_leak(const FeatureMatrix& features, const std::vector<double>& labels,
                              double strength, uint64_t seed) {
  FeatureMatrix leaky = features;
  leaky.values.conservativeResize(Eigen::NoChange, leaky.values.cols() + 1);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise;
  for (Eigen::Index t = 0; t < leaky.values.rows(); ++t) {
    const auto row = static_cast<std::size_t>(t);
    const double sign = row < labels.size() ? 2 * labels[row] - 1 : 0;
    leaky.values(t, leaky.values.cols() - 1) = noise(rng) + strength * sign;
  }
  return leaky;
}

TEST(TrainerLeakage, RandomWalksLookLikeNoiseAndASmallLeakDoesNot) {
  const std::size_t horizon = 1;
  const config::PromotionGates gates;  // the shipped defaults
  std::vector<double> honest, leaked;
  std::vector<std::size_t> rows;
  int promoted = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    // 20k bars: ~16k out-of-fold rows per walk and a holdout of ~4k rows.
    Dataset d = make_dataset(seed, 20'000, 0.0, horizon);
    auto spec = default_spec(horizon);
    auto trial = run_trial({d.features, d.labels}, spec);
    ASSERT_TRUE(trial.ok()) << trial.error();
    honest.push_back(trial->oof_metrics["auc"]);
    std::size_t oof_rows = 0;
    for (const auto& fold : trial->folds) oof_rows += fold.test_rows;
    rows.push_back(oof_rows);
    FeatureMatrix leaky = with_small_leak(d.features, d.labels, 0.032, seed);
    auto leaky_trial = run_trial({leaky, d.labels}, spec);
    ASSERT_TRUE(leaky_trial.ok()) << leaky_trial.error();
    leaked.push_back(leaky_trial->oof_metrics["auc"]);
    auto final_fit = run_final({d.features, d.labels}, spec);
    ASSERT_TRUE(final_fit.ok()) << final_fit.error();
    if (judge_gates(final_fit->holdout_metrics, gates).passed) ++promoted;
  }
  LeakCheck clean = check_no_leak(honest, rows), dirty = check_no_leak(leaked, rows);
  RecordProperty("mean_oof_auc", std::to_string(clean.mean_auc));
  RecordProperty("bound", std::to_string(clean.bound));
  RecordProperty("mean_oof_auc_with_leak", std::to_string(dirty.mean_auc));
  EXPECT_TRUE(clean.clean()) << "mean out-of-fold AUC " << clean.mean_auc << " is more than "
                             << clean.bound << " from 0.5 on random walks";
  EXPECT_LT(clean.bound, 0.005);
  // The planted leak is small (about +0.01) and the check catches it.
  EXPECT_LT(dirty.mean_auc - clean.mean_auc, 0.014);
  EXPECT_GT(dirty.mean_auc - clean.mean_auc, 0.006);
  EXPECT_FALSE(dirty.clean()) << "a leak of +" << dirty.mean_auc - clean.mean_auc << " AUC passed";
  EXPECT_LE(promoted, 1);
}

// (e) The search never sees the holdout: with every bar from the holdout on
// replaced by another path, every trial of a search (per fold and out of
// fold) is bit-identical, so the trial the search picks is too; only the
// final fit, which is judged once on the holdout, sees the change.
TEST(TrainerLeakage, TheSearchNeverSeesTheHoldout) {
  const std::size_t horizon = 3;
  Dataset d = make_dataset(303, 6000, 0.1, horizon);
  auto spec = default_spec(horizon);
  auto split = split_holdout(d.features.first_valid_row, d.labels.size(), spec.holdout_fraction, horizon);
  ASSERT_TRUE(split.ok()) << split.error();
  Bars other = d.bars;
  std::mt19937_64 rng(17);
  std::normal_distribution<double> step(0, 0.01);
  double factor = 1;
  for (std::size_t t = split->holdout_begin; t < other.size(); ++t) {
    factor *= std::exp(step(rng));
    other.open[t] *= factor;
    other.high[t] *= factor * 1.001;
    other.low[t] *= factor * 0.999;
    other.close[t] *= factor;
    other.volume[t] *= 2;
  }
  FeatureMatrix other_features = compute_features(other, default_feature_spec(), kTimeframeMinutes);
  std::vector<double> other_labels = make_labels(other.close, horizon);
  for (double c : {0.01, 0.1, 1.0, 10.0}) {
    spec.params = {{"C", c}};
    auto a = run_trial({d.features, d.labels}, spec);
    auto b = run_trial({other_features, other_labels}, spec);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->oof_metrics, b->oof_metrics) << "C " << c;
    ASSERT_EQ(a->folds.size(), b->folds.size());
    for (std::size_t f = 0; f < a->folds.size(); ++f) EXPECT_EQ(a->folds[f].metrics, b->folds[f].metrics);
  }
  auto a = run_final({d.features, d.labels}, spec);
  auto b = run_final({other_features, other_labels}, spec);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->holdout_metrics.at("auc"), b->holdout_metrics.at("auc"));
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
