// Classification metrics on probabilities, defined exactly as scikit-learn
// defines them (golden-tested against sklearn.metrics in
// tests/fixtures/trainer/):
//  - roc_auc: area under the ROC curve, tied scores as one threshold;
//  - brier: mean squared error of the probability;
//  - accuracy: share of rows where (p > 0.5) equals the label;
//  - log_loss: mean negative log-likelihood, p clipped to [eps, 1 - eps].
#pragma once

#include <Eigen/Dense>

#include <cmath>
#include <map>
#include <string>

namespace nightshift::trainer {

// NaN when only one class is present.
double roc_auc(const Eigen::VectorXd& labels, const Eigen::VectorXd& probabilities);
double brier_score(const Eigen::VectorXd& labels, const Eigen::VectorXd& probabilities);
double accuracy(const Eigen::VectorXd& labels, const Eigen::VectorXd& probabilities);
double log_loss(const Eigen::VectorXd& labels, const Eigen::VectorXd& probabilities);

// One-sided p-value of an AUC above 0.5 by chance: the Mann-Whitney test's
// normal approximation under "no skill", sd of the AUC
// sqrt((n1 + n0 + 1) / (12 n1 n0)), no continuity or tie correction (scores
// are continuous). Equals scipy.stats.mannwhitneyu(alternative="greater",
// method="asymptotic", use_continuity=False) when no scores tie. NaN when a
// class is empty. It is what makes an AUC of 0.53 on 300 holdout rows (p ~
// 0.2) differ from the same AUC on 30,000 (p ~ 1e-7).
double auc_p_value(double auc, std::size_t positives, std::size_t negatives);

// The holdout's "no skill" test when labels overlap: row t's label is the
// sign of the return over bars t+1..t+h, so neighbouring labels share h-1
// bars and rows are not independent. The AUC is a two-sample U-statistic;
// its first-order (Hoeffding / DeLong) decomposition writes AUC - 1/2 as a
// sum of per-row terms psi_t (for a positive row, (V10_t - AUC) / n1 with
// V10_t the share of negatives scored below it; for a negative row,
// (V01_t - AUC) / n0). Under "no skill" and i.i.d. increments, psi_t and
// psi_s are uncorrelated once |t - s| >= h (the later label is independent
// of everything the earlier row saw), so the variance of the sum is
//   sum psi_t^2 + 2 sum_{l=1}^{h-1} sum_t psi_t psi_{t+l}
// (a HAC estimate with a truncated kernel at lag h-1). The test scales the
// exact Mann-Whitney null variance by the ratio of that to the
// independent-rows part (sum psi_t^2), floored at 1: at h = 1 it is the
// Mann-Whitney test, at h > 1 the variance grows with the measured
// dependence. Rows must be in time order. Validated by simulation in
// tests/unit/trainer/metrics_test.cc and bench/false_promotions.
struct HoldoutAucTest {
  double auc = NAN;
  double p_value = NAN;         // one-sided, AUC > 1/2
  double z = NAN;               // (AUC - 1/2) / sd
  double variance_ratio = NAN;  // HAC / independent-rows variance, >= 1
  double naive_z = NAN;         // the same with rows taken as independent
  double naive_p_value = NAN;   // auc_p_value()
};
HoldoutAucTest holdout_auc_test(const Eigen::VectorXd& labels, const Eigen::VectorXd& probabilities,
                                std::size_t horizon);

// {"auc", "brier", "accuracy", "log_loss"}.
std::map<std::string, double> all_metrics(const Eigen::VectorXd& labels,
                                          const Eigen::VectorXd& probabilities);

}  // namespace nightshift::trainer
