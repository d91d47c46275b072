#include "stages/trainer/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace nightshift::trainer {

double roc_auc(const Eigen::VectorXd& labels, const Eigen::VectorXd& probabilities) {
  const Eigen::Index n = labels.size();
  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](Eigen::Index a, Eigen::Index b) { return probabilities(a) < probabilities(b); });
  // Mann-Whitney U with mid-ranks for ties: equal to the trapezoidal ROC area
  // sklearn computes, where a run of tied scores is one threshold.
  double positives = 0, rank_sum = 0;
  for (Eigen::Index i = 0; i < n;) {
    Eigen::Index j = i;
    while (j < n && probabilities(order[static_cast<std::size_t>(j)]) ==
                        probabilities(order[static_cast<std::size_t>(i)])) {
      ++j;
    }
    double mid_rank = 0.5 * static_cast<double>(i + 1 + j);
    for (Eigen::Index k = i; k < j; ++k) {
      if (labels(order[static_cast<std::size_t>(k)]) > 0.5) {
        positives += 1;
        rank_sum += mid_rank;
      }
    }
    i = j;
  }
  double negatives = static_cast<double>(n) - positives;
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

double brier_score(const Eigen::VectorXd& labels, const Eigen::VectorXd& probabilities) {
  return (probabilities - labels).squaredNorm() / static_cast<double>(labels.size());
}

double accuracy(const Eigen::VectorXd& labels, const Eigen::VectorXd& probabilities) {
  double correct = 0;
  for (Eigen::Index i = 0; i < labels.size(); ++i) {
    double predicted = probabilities(i) > 0.5 ? 1.0 : 0.0;
    if (predicted == labels(i)) correct += 1;
  }
  return correct / static_cast<double>(labels.size());
}

double log_loss(const Eigen::VectorXd& labels, const Eigen::VectorXd& probabilities) {
  const double eps = std::numeric_limits<double>::epsilon();
  double total = 0;
  for (Eigen::Index i = 0; i < labels.size(); ++i) {
    double p = std::clamp(probabilities(i), eps, 1 - eps);
    total -= labels(i) * std::log(p) + (1 - labels(i)) * std::log(1 - p);
  }
  return total / static_cast<double>(labels.size());
}

std::map<std::string, double> all_metrics(const Eigen::VectorXd& labels,
                                          const Eigen::VectorXd& probabilities) {
  return {{"auc", roc_auc(labels, probabilities)},
          {"brier", brier_score(labels, probabilities)},
          {"accuracy", accuracy(labels, probabilities)},
          {"log_loss", log_loss(labels, probabilities)}};
}

}  // namespace nightshift::trainer
