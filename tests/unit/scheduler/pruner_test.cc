// The median pruner's thresholds (stages/scheduler/pruner.h) on hand-built
// studies; the worker-side stop is in tests/unit/trainer/xgb_model_test.cc
// (TrainerPrune).
#include "stages/scheduler/pruner.h"

#include <gtest/gtest.h>

#include <cmath>

namespace nightshift::scheduler {
namespace {

TEST(MedianPruner, NoThresholdsBeforeTheStartupTrialsHaveCompleted) {
  std::vector<std::vector<double>> two = {{0.6, 0.6, 0.6}, {0.5, 0.5, 0.5}};
  EXPECT_FALSE(median_thresholds(two, 3, 3, 0).has_value());
  EXPECT_TRUE(median_thresholds(two, 3, 2, 0).has_value());
  EXPECT_FALSE(median_thresholds({}, 3, 1, 0).has_value());
}

TEST(MedianPruner, MedianOfRunningMeansPerFoldAfterTheWarmUpNotTheLastFold) {
  // running means after folds 0, 1, 2 of each trial:
  //   a: 0.60 0.55 0.60    b: 0.50 0.50 0.50    c: 0.70 0.65 0.60
  std::vector<std::vector<double>> done = {{0.60, 0.50, 0.70, 0.40},
                                           {0.50, 0.50, 0.50, 0.50},
                                           {0.70, 0.60, 0.50, 0.70}};
  auto t = median_thresholds(done, 4, 3, 1);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->first_fold, 1u);
  ASSERT_EQ(t->running_auc_below.size(), 2u);  // folds 1 and 2; none for the last (3)
  EXPECT_DOUBLE_EQ(t->running_auc_below[0], 0.55);
  EXPECT_DOUBLE_EQ(t->running_auc_below[1], 0.60);
  auto from_zero = median_thresholds(done, 4, 3, 0);
  ASSERT_TRUE(from_zero.has_value());
  EXPECT_EQ(from_zero->first_fold, 0u);
  EXPECT_DOUBLE_EQ(from_zero->running_auc_below[0], 0.60);
}

TEST(MedianPruner, EvenCountsAverageTheMiddleTwoAndUndefinedFoldsAreLeftOut) {
  std::vector<std::vector<double>> done = {{0.50, 0.60, 0.5}, {NAN, 0.80, 0.5}, {0.7, 0.7, 0.5}, {0.6, 0.6, 0.5}};
  auto t = median_thresholds(done, 3, 1, 0);
  ASSERT_TRUE(t.has_value());
  // fold 0: 0.50, 0.70, 0.60 (NaN left out) -> 0.60
  EXPECT_DOUBLE_EQ(t->running_auc_below[0], 0.60);
  // fold 1: 0.55, 0.80, 0.70, 0.60 -> (0.60 + 0.70) / 2
  EXPECT_DOUBLE_EQ(t->running_auc_below[1], 0.65);
}

TEST(MedianPruner, AWarmUpAsLongAsTheFoldsLeavesNothingToPrune) {
  std::vector<std::vector<double>> done = {{0.6, 0.6}, {0.5, 0.5}};
  EXPECT_FALSE(median_thresholds(done, 2, 1, 1).has_value());
}

}  // namespace
}  // namespace nightshift::scheduler
