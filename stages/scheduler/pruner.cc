#include "stages/scheduler/pruner.h"

#include <algorithm>
#include <cmath>

namespace nightshift::scheduler {
namespace {

// Mean of the defined values among the first `count`; NaN if none.
double running_mean(const std::vector<double>& aucs, std::size_t count) {
  double sum = 0;
  int defined = 0;
  for (std::size_t k = 0; k < count && k < aucs.size(); ++k) {
    if (std::isfinite(aucs[k])) sum += aucs[k], ++defined;
  }
  return defined > 0 ? sum / defined : NAN;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

std::optional<PruneThresholds> median_thresholds(const std::vector<std::vector<double>>& completed_fold_aucs,
                                                 std::size_t n_folds, int startup_trials, int warmup_folds) {
  const std::size_t startup = static_cast<std::size_t>(std::max(startup_trials, 1));
  if (completed_fold_aucs.size() < startup) return std::nullopt;
  PruneThresholds out;
  out.first_fold = static_cast<uint32_t>(std::max(warmup_folds, 0));
  for (std::size_t fold = out.first_fold; fold + 1 < n_folds; ++fold) {
    std::vector<double> means;
    for (const auto& aucs : completed_fold_aucs) {
      if (aucs.size() <= fold) continue;  // a trial that did not reach this fold
      double m = running_mean(aucs, fold + 1);
      if (std::isfinite(m)) means.push_back(m);
    }
    if (means.empty()) break;
    out.running_auc_below.push_back(median(std::move(means)));
  }
  if (out.running_auc_below.empty()) return std::nullopt;
  return out;
}

}  // namespace nightshift::scheduler
