// Classification metrics on probabilities, defined exactly as scikit-learn
// defines them (golden-tested against sklearn.metrics in
// tests/fixtures/trainer/):
//  - roc_auc: area under the ROC curve, tied scores as one threshold;
//  - brier: mean squared error of the probability;
//  - accuracy: share of rows where (p > 0.5) equals the label;
//  - log_loss: mean negative log-likelihood, p clipped to [eps, 1 - eps].
#pragma once

#include <Eigen/Dense>

#include <map>
#include <string>

namespace nightshift::trainer {

// NaN when only one class is present.
double roc_auc(const Eigen::VectorXd& labels, const Eigen::VectorXd& probabilities);
double brier_score(const Eigen::VectorXd& labels, const Eigen::VectorXd& probabilities);
double accuracy(const Eigen::VectorXd& labels, const Eigen::VectorXd& probabilities);
double log_loss(const Eigen::VectorXd& labels, const Eigen::VectorXd& probabilities);

// {"auc", "brier", "accuracy", "log_loss"}.
std::map<std::string, double> all_metrics(const Eigen::VectorXd& labels,
                                          const Eigen::VectorXd& probabilities);

}  // namespace nightshift::trainer
