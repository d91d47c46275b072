#include "stages/trainer/folds.h"

#include <algorithm>
#include <cmath>

namespace nightshift::trainer {
namespace {

void add_range(std::vector<RowRange>& out, std::size_t begin, std::size_t end) {
  if (end > begin) out.push_back(RowRange{begin, end});
}

// Training rows for one test fold, after purge and embargo.
//  - purged k-fold: rows before the fold whose label window reaches into it
//    are purged (t + H >= test.begin), and the embargo_bars rows after it
//    are dropped;
//  - walk-forward: only rows before the fold, and the embargo is a gap:
//    the last training row is embargo_bars (>= H, so purged too) before it.
std::vector<RowRange> training_ranges(std::size_t begin, std::size_t end, RowRange test,
                                      const CvSpec& spec) {
  std::vector<RowRange> train;
  const std::size_t gap = spec.scheme == CvScheme::walk_forward
                              ? std::max(spec.horizon, spec.embargo_bars)
                              : spec.horizon;
  // Row t is kept when t + gap < test.begin, i.e. t < test.begin - gap.
  std::size_t before_end = test.begin >= begin + gap ? test.begin - gap : begin;
  add_range(train, begin, before_end);
  if (spec.scheme == CvScheme::purged_kfold) {
    add_range(train, std::min(end, test.end + spec.embargo_bars), end);
  }
  return train;
}

}  // namespace

std::size_t Fold::train_rows() const {
  std::size_t n = 0;
  for (const auto& r : train) n += r.size();
  return n;
}

std::size_t embargo_bars(int embargo_minutes, int timeframe_minutes, std::size_t horizon) {
  std::size_t bars = 0;
  if (timeframe_minutes > 0 && embargo_minutes > 0) {
    bars = static_cast<std::size_t>(
        std::ceil(static_cast<double>(embargo_minutes) / static_cast<double>(timeframe_minutes)));
  }
  return std::max(bars, horizon);
}

Result<std::vector<Fold>> make_folds(std::size_t begin, std::size_t end, const CvSpec& spec) {
  if (spec.n_splits < 2) return make_error("n_splits must be at least 2");
  std::size_t rows = end > begin ? end - begin : 0;
  std::size_t blocks = static_cast<std::size_t>(spec.n_splits) +
                       (spec.scheme == CvScheme::walk_forward ? 1 : 0);
  if (rows / blocks < spec.min_test_rows) {
    return make_error("too few rows for the folds: " + std::to_string(rows) + " usable rows, " +
                      std::to_string(blocks) + " blocks need at least " +
                      std::to_string(blocks * spec.min_test_rows));
  }
  std::vector<Fold> folds;
  std::size_t first_test_block = spec.scheme == CvScheme::walk_forward ? 1 : 0;
  for (std::size_t b = first_test_block; b < blocks; ++b) {
    Fold fold;
    fold.test = RowRange{begin + rows * b / blocks, begin + rows * (b + 1) / blocks};
    fold.train = training_ranges(begin, end, fold.test, spec);
    if (fold.train_rows() < spec.min_train_rows) {
      return make_error("too few rows for the folds: fold " + std::to_string(folds.size()) +
                        " has " + std::to_string(fold.train_rows()) +
                        " training rows after purge and embargo (need " +
                        std::to_string(spec.min_train_rows) + ")");
    }
    folds.push_back(std::move(fold));
  }
  return folds;
}

Result<HoldoutSplit> split_holdout(std::size_t first_valid, std::size_t labelled,
                                   double fraction, std::size_t horizon) {
  if (labelled <= first_valid) return make_error("too few rows: no labelled rows after the feature warm-up");
  std::size_t usable = labelled - first_valid;
  auto holdout = static_cast<std::size_t>(std::floor(static_cast<double>(usable) * fraction));
  if (holdout < 1 || usable < holdout + horizon + 1) {
    return make_error("too few rows for a holdout: " + std::to_string(usable) + " usable rows");
  }
  HoldoutSplit split;
  split.first_valid = first_valid;
  split.holdout_end = labelled;
  split.holdout_begin = labelled - holdout;
  split.validation_end = split.holdout_begin - horizon;
  return split;
}

}  // namespace nightshift::trainer
