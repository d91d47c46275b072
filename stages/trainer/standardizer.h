// Standardisation whose statistics come from training rows only; applied
// unchanged to test rows, the holdout and at prediction time.
#pragma once

#include <Eigen/Dense>

#include <vector>

#include "stages/trainer/folds.h"
#include "stages/trainer/logistic_kernels.h"

namespace nightshift::trainer {

// Rows `ranges` of `x` as the kernels read them, unscaled. The ranges must
// outlive the view.
kernels::RowsView rows_view(const Eigen::Ref<const Eigen::MatrixXd>& x, const RowRange* ranges,
                            std::size_t range_count);
inline kernels::RowsView matrix_view(const Eigen::Ref<const Eigen::MatrixXd>& x, const RowRange& all) {
  return rows_view(x, &all, 1);
}

struct Standardizer {
  Eigen::VectorXd mean;
  Eigen::VectorXd scale;  // population standard deviation; 1 where constant

  static Standardizer fit(Eigen::Ref<const Eigen::MatrixXd> x);
  // The same statistics over rows `ranges` of `source`, without copying them.
  static Standardizer fit_rows(const Eigen::MatrixXd& source, const std::vector<RowRange>& ranges);
  Eigen::MatrixXd apply(const Eigen::MatrixXd& x) const;
  void apply_in_place(Eigen::Ref<Eigen::MatrixXd> x) const;
};

}  // namespace nightshift::trainer
