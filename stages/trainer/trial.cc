#include "stages/trainer/trial.h"

#include <cmath>

#include "stages/trainer/metrics.h"
#include "stages/trainer/model_registry.h"

namespace nightshift::trainer {
namespace {

Result<HoldoutSplit> split_for(const LabelledData& data, const TrialSpec& spec) {
  if (data.labels.size() > data.features.rows()) return make_error("more labels than feature rows");
  return split_holdout(data.features.first_valid_row, data.labels.size(), spec.holdout_fraction,
                       spec.horizon);
}

struct Scored {
  Eigen::VectorXd labels;
  Eigen::VectorXd probabilities;
};

// Fits scaler and model on `train`, scores `test`. The rows stay in the
// feature matrix: the scaler's statistics are taken over the training
// ranges and the model reads them (standardised tile by tile) in place.
Result<Scored> fit_and_score(Model& model, const LabelledData& data,
                             const std::vector<RowRange>& train, RowRange test,
                             Standardizer* scaler_out = nullptr) {
  const Eigen::MatrixXd& values = data.features.values;
  Standardizer scaler = Standardizer::fit_rows(values, train);
  if (auto fitted = model.fit_rows(RowSelection{values, train, scaler}, data.labels); !fitted) {
    return fitted.take_error();
  }
  std::vector<RowRange> test_rows = {test};
  Scored scored{gather_labels(data.labels, test_rows),
                model.predict_proba_rows(RowSelection{values, test_rows, scaler})};
  if (scaler_out != nullptr) *scaler_out = std::move(scaler);
  return scored;
}

}  // namespace

Eigen::MatrixXd gather_rows(const Eigen::MatrixXd& values, const std::vector<RowRange>& ranges) {
  Eigen::Index rows = 0;
  for (const auto& r : ranges) rows += static_cast<Eigen::Index>(r.size());
  Eigen::MatrixXd out(rows, values.cols());
  Eigen::Index at = 0;
  for (const auto& r : ranges) {
    auto n = static_cast<Eigen::Index>(r.size());
    out.middleRows(at, n) = values.middleRows(static_cast<Eigen::Index>(r.begin), n);
    at += n;
  }
  return out;
}

Eigen::VectorXd gather_labels(const std::vector<double>& labels, const std::vector<RowRange>& ranges) {
  Eigen::Index rows = 0;
  for (const auto& r : ranges) rows += static_cast<Eigen::Index>(r.size());
  Eigen::VectorXd out(rows);
  Eigen::Index at = 0;
  for (const auto& r : ranges) {
    for (std::size_t t = r.begin; t < r.end; ++t) out(at++) = labels[t];
  }
  return out;
}

bool prune_after_fold(const PruneThresholds& prune, std::size_t fold, std::size_t n_folds,
                      const std::vector<double>& fold_aucs) {
  if (fold + 1 >= n_folds || fold < prune.first_fold) return false;
  const std::size_t i = fold - prune.first_fold;
  if (i >= prune.running_auc_below.size() || !std::isfinite(prune.running_auc_below[i])) return false;
  double sum = 0;
  int defined = 0;
  for (std::size_t k = 0; k <= fold && k < fold_aucs.size(); ++k) {
    if (std::isfinite(fold_aucs[k])) sum += fold_aucs[k], ++defined;
  }
  return defined > 0 && sum / defined < prune.running_auc_below[i];
}

Result<TrialOutcome> run_trial(const LabelledData& data, const TrialSpec& spec) {
  auto split = split_for(data, spec);
  if (!split) return split.take_error();
  CvSpec cv = spec.cv;
  cv.horizon = spec.horizon;
  auto folds = make_folds(split->first_valid, split->validation_end, cv);
  if (!folds) return folds.take_error();
  auto outcome = cross_validate(data, *folds, spec.model, spec.params, spec.horizon,
                                spec.prune ? &*spec.prune : nullptr);
  if (outcome) outcome->split = *split;
  return outcome;
}

Result<TrialOutcome> cross_validate(const LabelledData& data, const std::vector<Fold>& folds,
                                   const std::string& model_name,
                                   const std::map<std::string, double>& params,
                                   std::size_t horizon, const PruneThresholds* prune) {
  auto model = make_model(model_name, params, horizon);
  if (!model) return model.take_error();
  TrialOutcome outcome;
  std::vector<Scored> scored;
  std::vector<double> fold_aucs;
  for (const Fold& fold : folds) {
    auto result = fit_and_score(**model, data, fold.train, fold.test);  // warm-starts after fold 0
    if (!result) return result.take_error();
    FoldMetrics m;
    m.metrics = all_metrics(result->labels, result->probabilities);
    m.train_rows = fold.train_rows();
    m.test_rows = fold.test.size();
    fold_aucs.push_back(m.metrics.count("auc") ? m.metrics.at("auc") : NAN);
    outcome.folds.push_back(std::move(m));
    scored.push_back(std::move(*result));
    if (prune != nullptr && prune_after_fold(*prune, fold_aucs.size() - 1, folds.size(), fold_aucs)) {
      outcome.pruned = true;
      break;
    }
  }
  Eigen::Index total = 0;
  for (const auto& s : scored) total += s.labels.size();
  Eigen::VectorXd labels(total), probabilities(total);
  Eigen::Index at = 0;
  for (const auto& s : scored) {
    labels.segment(at, s.labels.size()) = s.labels;
    probabilities.segment(at, s.labels.size()) = s.probabilities;
    at += s.labels.size();
  }
  outcome.oof_metrics = all_metrics(labels, probabilities);
  return outcome;
}

Result<FinalFit> run_final(const LabelledData& data, const TrialSpec& spec) {
  auto split = split_for(data, spec);
  if (!split) return split.take_error();
  if (split->validation_end < split->first_valid + spec.cv.min_train_rows) {
    return make_error("too few rows before the holdout to fit a final model");
  }
  auto model = make_model(spec.model, spec.params, spec.horizon);
  if (!model) return model.take_error();
  FinalFit out;
  out.split = *split;
  std::vector<RowRange> train = {RowRange{split->first_valid, split->validation_end}};
  RowRange holdout{split->holdout_begin, split->holdout_end};
  auto scored = fit_and_score(**model, data, train, holdout, &out.scaler);
  if (!scored) return scored.take_error();
  out.holdout_metrics = all_metrics(scored->labels, scored->probabilities);
  // How likely the holdout AUC is by chance, labels overlapping by H-1 bars
  // (metrics.h): the max_auc_p_value gate and the run's FDR use auc_p_value.
  const HoldoutAucTest test = holdout_auc_test(scored->labels, scored->probabilities, spec.horizon);
  out.holdout_metrics["auc_p_value"] = test.p_value;
  out.holdout_metrics["auc_p_value_naive"] = test.naive_p_value;
  out.holdout_metrics["auc_z"] = test.z;
  out.holdout_metrics["auc_variance_ratio"] = test.variance_ratio;
  out.model = std::move(*model);
  out.train_rows = train.front().size();
  out.holdout_rows = holdout.size();
  return out;
}

}  // namespace nightshift::trainer
