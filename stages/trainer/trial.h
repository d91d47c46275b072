// A trial = (dataset features, horizon, model, hyperparameters, CV spec) ->
// per-fold and out-of-fold metrics. A final fit = train on everything before
// the holdout (purged), evaluate once on the holdout.
//
// Both see only rows in [first_valid, validation_end) for training; the
// holdout is touched by run_final() alone, so search never sees it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "schema/job_messages.h"
#include "stages/trainer/features.h"
#include "stages/trainer/folds.h"
#include "stages/trainer/model.h"
#include "stages/trainer/standardizer.h"

namespace nightshift::trainer {

struct TrialSpec {
  std::size_t horizon = 1;
  CvSpec cv;                       // cv.horizon is set from `horizon`
  double holdout_fraction = 0.2;
  std::string model = "logreg_l2";
  std::map<std::string, double> params;
  std::optional<PruneThresholds> prune;  // the median pruner's, for a trial
};

// Features plus labels aligned on bars: labels[t] exists for t < labels.size().
struct LabelledData {
  const FeatureMatrix& features;
  const std::vector<double>& labels;
};

struct TrialOutcome {
  std::vector<FoldMetrics> folds;
  std::map<std::string, double> oof_metrics;  // over the concatenated test folds
  HoldoutSplit split;
  // Stopped by the pruner after folds.size() folds (oof_metrics cover those).
  bool pruned = false;
};

// Whether a trial stops after fold `fold` (0-based) of `n_folds`, given the
// AUCs of folds 0..fold: its running mean (over the folds whose AUC is
// defined) is below the threshold for that fold. Never after the last fold.
bool prune_after_fold(const PruneThresholds& prune, std::size_t fold, std::size_t n_folds,
                      const std::vector<double>& fold_aucs);

struct FinalFit {
  std::map<std::string, double> holdout_metrics;
  Standardizer scaler;
  std::unique_ptr<Model> model;
  HoldoutSplit split;
  std::size_t train_rows = 0;
  std::size_t holdout_rows = 0;
};

Result<TrialOutcome> run_trial(const LabelledData& data, const TrialSpec& spec);
// The CV part of a trial on given folds (run_trial = holdout split + folds +
// this): per fold, standardise on its training rows, fit, score its test rows.
// `horizon` is the label horizon (xgb purges its inner validation tail by it).
Result<TrialOutcome> cross_validate(const LabelledData& data, const std::vector<Fold>& folds,
                                   const std::string& model, const std::map<std::string, double>& params,
                                   std::size_t horizon = 1, const PruneThresholds* prune = nullptr);
Result<FinalFit> run_final(const LabelledData& data, const TrialSpec& spec);

// Copies the rows of `ranges` (ascending) into one matrix / vector.
Eigen::MatrixXd gather_rows(const Eigen::MatrixXd& values, const std::vector<RowRange>& ranges);
Eigen::VectorXd gather_labels(const std::vector<double>& labels, const std::vector<RowRange>& ranges);

}  // namespace nightshift::trainer
