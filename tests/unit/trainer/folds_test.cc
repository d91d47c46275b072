// Purging and embargo on hand-built indices.
#include <gtest/gtest.h>

#include "stages/trainer/folds.h"
#include "stages/trainer/job_runner.h"

namespace nightshift::trainer {
namespace {

bool in_train(const Fold& fold, std::size_t t) {
  for (const auto& r : fold.train) {
    if (t >= r.begin && t < r.end) return true;
  }
  return false;
}

CvSpec spec(CvScheme scheme, std::size_t horizon, std::size_t embargo) {
  CvSpec s;
  s.scheme = scheme;
  s.n_splits = 5;
  s.horizon = horizon;
  s.embargo_bars = embargo;
  s.min_train_rows = 5;
  s.min_test_rows = 5;
  return s;
}

TEST(TrainerFolds, PurgedKFoldNoTrainingLabelWindowTouchesTheTestFold) {
  const std::size_t begin = 10, end = 210, horizon = 3, embargo = 7;
  auto folds = make_folds(begin, end, spec(CvScheme::purged_kfold, horizon, embargo));
  ASSERT_TRUE(folds.ok()) << folds.error();
  ASSERT_EQ(folds->size(), 5u);
  for (const Fold& fold : *folds) {
    EXPECT_EQ(fold.test.size(), 40u);
    for (std::size_t t = begin; t < end; ++t) {
      bool touches = t + horizon >= fold.test.begin && t < fold.test.end;  // [t, t+H] vs test
      bool embargoed = t >= fold.test.end && t < fold.test.end + embargo;
      EXPECT_EQ(in_train(fold, t), !touches && !embargoed) << "row " << t << " test [" << fold.test.begin << ", " << fold.test.end << ")";
    }
  }
}

TEST(TrainerFolds, EmbargoGapIsExact) {
  auto folds = make_folds(0, 100, spec(CvScheme::purged_kfold, 2, 6));
  ASSERT_TRUE(folds.ok());
  const Fold& middle = (*folds)[2];  // test [40, 60)
  EXPECT_EQ(middle.test.begin, 40u);
  EXPECT_EQ(middle.test.end, 60u);
  ASSERT_EQ(middle.train.size(), 2u);
  EXPECT_EQ(middle.train[0].begin, 0u);
  EXPECT_EQ(middle.train[0].end, 38u);  // rows 38, 39 purged: labels reach 40, 41
  EXPECT_EQ(middle.train[1].begin, 66u);  // rows 60..65 embargoed: exactly 6
  EXPECT_EQ(middle.train[1].end, 100u);
  const Fold& last = (*folds)[4];  // test [80, 100): nothing after it
  ASSERT_EQ(last.train.size(), 1u);
  EXPECT_EQ(last.train[0].end, 78u);
}

TEST(TrainerFolds, WalkForwardTrainsOnlyOnThePastWithPurge) {
  const std::size_t horizon = 4;
  auto folds = make_folds(0, 120, spec(CvScheme::walk_forward, horizon, horizon));
  ASSERT_TRUE(folds.ok());
  ASSERT_EQ(folds->size(), 5u);  // 6 blocks, first is training only
  std::size_t previous_end = 20;
  for (const Fold& fold : *folds) {
    EXPECT_EQ(fold.test.begin, previous_end);  // test folds tile the range
    previous_end = fold.test.end;
    ASSERT_EQ(fold.train.size(), 1u);
    EXPECT_EQ(fold.train[0].begin, 0u);
    EXPECT_EQ(fold.train[0].end + horizon, fold.test.begin);  // last row t: t + H = test.begin - 1
    EXPECT_LT(fold.train[0].end - 1 + horizon, fold.test.begin);
  }
  EXPECT_EQ(previous_end, 120u);
}

// The embargo is never silently ignored: in walk-forward it is a gap of
// exactly embargo_bars rows between the last training row and the test fold.
TEST(TrainerFolds, WalkForwardAppliesTheEmbargoAsAGap) {
  const std::size_t horizon = 2;
  for (std::size_t embargo : {2u, 5u, 9u}) {
    auto folds = make_folds(0, 120, spec(CvScheme::walk_forward, horizon, embargo));
    ASSERT_TRUE(folds.ok());
    for (const Fold& fold : *folds) {
      ASSERT_EQ(fold.train.size(), 1u);
      EXPECT_EQ(fold.train[0].end + embargo, fold.test.begin) << "embargo " << embargo;
      for (std::size_t t = 0; t < 120; ++t) {
        EXPECT_EQ(in_train(fold, t), t + embargo < fold.test.begin) << "row " << t;
      }
    }
  }
  // A wider embargo trains on fewer rows: the setting changes the folds.
  auto narrow = make_folds(0, 120, spec(CvScheme::walk_forward, horizon, 2));
  auto wide = make_folds(0, 120, spec(CvScheme::walk_forward, horizon, 9));
  EXPECT_EQ((*narrow)[2].train_rows(), (*wide)[2].train_rows() + 7);
}

// What the config admits, a job accepts, and nothing beyond it: the config
// reader and trial_spec_for share their ranges (config/config.h).
TEST(TrainerFolds, JobsAcceptExactlyTheConfigsRanges) {
  Job job;
  job.horizon = 1;
  job.timeframe = "1h";
  job.model = "logreg_l2";
  job.cv.scheme = CvScheme::walk_forward;
  for (double fraction : {config::kMinHoldoutFraction, 0.2, config::kMaxHoldoutFraction}) {
    for (uint32_t splits : {uint32_t(config::kMinSplits), uint32_t(config::kMaxSplits)}) {
      job.cv.holdout_fraction = fraction;
      job.cv.n_splits = splits;
      auto spec = trial_spec_for(job);
      ASSERT_TRUE(spec.ok()) << fraction << " " << splits << ": " << spec.error();
      EXPECT_EQ(spec->cv.scheme, CvScheme::walk_forward);
    }
  }
  job.cv.n_splits = 5;
  for (double fraction : {0.0, 0.009, 0.51, 0.9}) {
    job.cv.holdout_fraction = fraction;
    auto spec = trial_spec_for(job);
    ASSERT_FALSE(spec.ok()) << fraction;
    EXPECT_NE(spec.error().find("cv.holdout_fraction must be in [0.01, 0.5]"), std::string::npos) << spec.error();
  }
  job.cv.holdout_fraction = 0.2;
  job.cv.n_splits = 101;
  EXPECT_FALSE(trial_spec_for(job).ok());
}

TEST(TrainerFolds, EmbargoBarsFromMinutesNeverBelowHorizon) {
  EXPECT_EQ(embargo_bars(30, 5, 1), 6u);
  EXPECT_EQ(embargo_bars(30, 15, 1), 2u);
  EXPECT_EQ(embargo_bars(31, 15, 1), 3u);  // rounds up
  EXPECT_EQ(embargo_bars(30, 5, 10), 10u);
  EXPECT_EQ(embargo_bars(30, 1440, 3), 3u);
  EXPECT_EQ(embargo_bars(0, 60, 1), 1u);
}

TEST(TrainerFolds, TooFewRowsIsAClearError) {
  auto folds = make_folds(0, 25, spec(CvScheme::walk_forward, 1, 1));  // 6 blocks of 4 < 5
  ASSERT_FALSE(folds.ok());
  EXPECT_NE(folds.error().find("too few rows for the folds"), std::string::npos) << folds.error();
}

TEST(TrainerFolds, HoldoutIsTheLatestSliceAndValidationStopsHBarsBefore) {
  auto split = split_holdout(30, 1030, 0.2, 5);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->holdout_end, 1030u);
  EXPECT_EQ(split->holdout_begin, 830u);
  EXPECT_EQ(split->validation_end, 825u);  // row 824's label reads bar 829 < 830
  EXPECT_FALSE(split_holdout(30, 32, 0.2, 5).ok());
}

}  // namespace
}  // namespace nightshift::trainer
