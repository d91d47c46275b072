// Validation splits over bar indices, with purging and embargo
// (López de Prado, AFML ch. 7).
//
// Row t's label looks at bars [t, t+H]. The usable range is [begin, end):
// every row there has features and a label that ends before the holdout.
//  - purge: a training row whose label window [t, t+H] touches the test fold
//    [test_begin, test_end) is dropped;
//  - embargo: the `embargo_bars` rows right after a test fold are dropped
//    from training, because features there still overlap the test labels.
// Purged k-fold (the night's default, cv.scheme) trains on both sides of the
// test fold. Walk-forward trains only on rows before it; there the embargo
// is a gap: the last training row ends embargo_bars (never fewer than H)
// before the test fold, so the setting is applied by both schemes.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "schema/job_messages.h"
#include "schema/result.h"

namespace nightshift::trainer {

using nightshift::CvScheme;  // walk_forward | purged_kfold (schema/job_messages.h)

struct RowRange {
  std::size_t begin = 0;
  std::size_t end = 0;  // exclusive
  std::size_t size() const { return end - begin; }
};

struct Fold {
  std::vector<RowRange> train;  // disjoint, ascending
  RowRange test;
  std::size_t train_rows() const;
};

struct CvSpec {
  CvScheme scheme = CvScheme::purged_kfold;
  int n_splits = 5;
  std::size_t horizon = 1;
  std::size_t embargo_bars = 1;
  std::size_t min_train_rows = 50;
  std::size_t min_test_rows = 20;
};

// embargo_minutes converted to bars of the timeframe, never less than H.
std::size_t embargo_bars(int embargo_minutes, int timeframe_minutes, std::size_t horizon);

// Folds over [begin, end). An error names what is too small.
Result<std::vector<Fold>> make_folds(std::size_t begin, std::size_t end, const CvSpec& spec);

// Where the holdout starts and where validation must stop, for `labelled`
// rows (bars - H) with features valid from `first_valid`: the holdout is the
// last `fraction` of [first_valid, labelled); validation rows end H rows
// before it so no validation label reads a holdout bar.
struct HoldoutSplit {
  std::size_t first_valid = 0;
  std::size_t validation_end = 0;
  std::size_t holdout_begin = 0;
  std::size_t holdout_end = 0;
};
Result<HoldoutSplit> split_holdout(std::size_t first_valid, std::size_t labelled,
                                   double fraction, std::size_t horizon);

}  // namespace nightshift::trainer
