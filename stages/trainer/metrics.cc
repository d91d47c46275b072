#include "stages/trainer/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

namespace nightshift::trainer {

namespace {

// Order-preserving map of a double to an unsigned key (-0 taken as +0, so
// keys are equal exactly when the scores compare equal; NaNs sort last).
std::uint64_t sort_key(double v) {
  if (v == 0) v = 0;
  std::uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return (bits >> 63) != 0 ? ~bits : bits | (std::uint64_t{1} << 63);
}

// LSD radix sort, 11-bit digits; digits all keys share are skipped.
void radix_sort(std::vector<std::uint64_t>& keys) {
  constexpr int kBits = 11, kPasses = 6;
  constexpr std::size_t kBuckets = std::size_t{1} << kBits;
  const std::size_t n = keys.size();
  std::vector<std::size_t> counts(kPasses * kBuckets, 0);
  for (std::uint64_t k : keys) {
    for (int pass = 0; pass < kPasses; ++pass) ++counts[pass * kBuckets + ((k >> (pass * kBits)) & (kBuckets - 1))];
  }
  std::vector<std::uint64_t> other(n);
  for (int pass = 0; pass < kPasses; ++pass) {
    std::size_t* count = counts.data() + pass * kBuckets;
    if (std::any_of(count, count + kBuckets, [n](std::size_t c) { return c == n; })) continue;
    std::size_t at = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) at += std::exchange(count[b], at);
    for (std::uint64_t k : keys) other[count[(k >> (pass * kBits)) & (kBuckets - 1)]++] = k;
    keys.swap(other);
  }
}

}  // namespace

double roc_auc(const Eigen::VectorXd& labels, const Eigen::VectorXd& probabilities) {
  // Mann-Whitney U with ties counted half, which equals the trapezoidal ROC
  // area sklearn computes (a run of tied scores is one threshold): for each
  // positive, the negatives scored below it plus half those tied with it.
  std::vector<std::uint64_t> pos, neg;
  pos.reserve(static_cast<std::size_t>(labels.size()));
  neg.reserve(static_cast<std::size_t>(labels.size()));
  for (Eigen::Index i = 0; i < labels.size(); ++i) {
    (labels(i) > 0.5 ? pos : neg).push_back(sort_key(probabilities(i)));
  }
  if (pos.empty() || neg.empty()) return std::numeric_limits<double>::quiet_NaN();
  radix_sort(pos);
  radix_sort(neg);
  // Twice U, in integers: exact.
  std::uint64_t twice_u = 0;
  std::size_t below = 0, through = 0;  // negatives < key, negatives <= key
  for (std::size_t i = 0; i < pos.size(); ++i) {
    if (i == 0 || pos[i] != pos[i - 1]) {
      while (below < neg.size() && neg[below] < pos[i]) ++below;
      through = std::max(through, below);
      while (through < neg.size() && neg[through] == pos[i]) ++through;
    }
    twice_u += 2 * below + (through - below);
  }
  return static_cast<double>(twice_u) / 2 / (static_cast<double>(pos.size()) * static_cast<double>(neg.size()));
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
    double p = std::clamp(probabilities(i), eps, 1 - eps), y = labels(i);
    // One log for a 0/1 label (the other term is exactly 0), both otherwise.
    total -= y == 1 ? std::log(p) : y == 0 ? std::log(1 - p) : y * std::log(p) + (1 - y) * std::log(1 - p);
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

double auc_p_value(double auc, std::size_t positives, std::size_t negatives) {
  if (positives == 0 || negatives == 0 || !std::isfinite(auc)) return NAN;
  const double n1 = static_cast<double>(positives);
  const double n0 = static_cast<double>(negatives);
  const double sd = std::sqrt((n1 + n0 + 1.0) / (12.0 * n1 * n0));
  return 0.5 * std::erfc((auc - 0.5) / sd / std::sqrt(2.0));
}

namespace {

// Mid-ranks (1-based) of `values`, ties sharing the mean of their ranks.
std::vector<double> mid_ranks(const std::vector<double>& values) {
  std::vector<std::size_t> order(values.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    const double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
    for (std::size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

}  // namespace

HoldoutAucTest holdout_auc_test(const Eigen::VectorXd& labels, const Eigen::VectorXd& probabilities,
                                std::size_t horizon) {
  HoldoutAucTest out;
  const auto n = static_cast<std::size_t>(labels.size());
  std::vector<double> all(n), pos, neg;
  for (std::size_t t = 0; t < n; ++t) {
    all[t] = probabilities(static_cast<Eigen::Index>(t));
    (labels(static_cast<Eigen::Index>(t)) > 0.5 ? pos : neg).push_back(all[t]);
  }
  if (pos.empty() || neg.empty() || !std::all_of(all.begin(), all.end(), [](double v) { return std::isfinite(v); })) {
    return out;
  }
  const double n1 = static_cast<double>(pos.size()), n0 = static_cast<double>(neg.size());
  // A row's rank among all rows less its rank within its class counts the
  // other class's rows below it (ties half): the placement values.
  const std::vector<double> rank_all = mid_ranks(all), rank_pos = mid_ranks(pos), rank_neg = mid_ranks(neg);
  std::vector<double> psi(n);
  double auc = 0;
  std::size_t ip = 0, in = 0;
  for (std::size_t t = 0; t < n; ++t) {
    if (labels(static_cast<Eigen::Index>(t)) > 0.5) {
      psi[t] = (rank_all[t] - rank_pos[ip++]) / n0;  // V10: negatives below
      auc += psi[t];
    } else {
      psi[t] = 1 - (rank_all[t] - rank_neg[in++]) / n1;  // V01: positives above
    }
  }
  auc /= n1;
  for (std::size_t t = 0; t < n; ++t) {
    psi[t] = labels(static_cast<Eigen::Index>(t)) > 0.5 ? (psi[t] - auc) / n1 : (psi[t] - auc) / n0;
  }
  double independent = 0;
  for (double v : psi) independent += v * v;
  double hac = independent;
  for (std::size_t lag = 1; lag < horizon && lag < n; ++lag) {
    double sum = 0;
    for (std::size_t t = 0; t + lag < n; ++t) sum += psi[t] * psi[t + lag];
    hac += 2 * sum;
  }
  out.auc = auc;
  out.variance_ratio = independent > 0 ? std::max(1.0, hac / independent) : 1.0;
  const double independent_sd = std::sqrt((n1 + n0 + 1.0) / (12.0 * n1 * n0));
  out.z = (auc - 0.5) / (independent_sd * std::sqrt(out.variance_ratio));
  out.naive_z = (auc - 0.5) / independent_sd;
  out.p_value = 0.5 * std::erfc(out.z / std::sqrt(2.0));
  out.naive_p_value = auc_p_value(auc, pos.size(), neg.size());
  return out;
}

}  // namespace nightshift::trainer
