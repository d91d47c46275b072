#include "stages/trainer/standardizer.h"

#include <cmath>

#include "stages/trainer/logistic_kernels.h"

namespace nightshift::trainer {
namespace {

// Mean and population standard deviation per column (1 where constant), in
// one read of the rows (chunked, Chan et al.'s merge: no cancellation).
Standardizer moments(const kernels::RowsView& view) {
  Standardizer s;
  const auto cols = static_cast<Eigen::Index>(view.cols);
  s.mean.resize(cols);
  Eigen::VectorXd variance(cols);
  kernels::column_moments(view, s.mean.data(), variance.data());
  s.scale.resize(cols);
  for (Eigen::Index j = 0; j < cols; ++j) s.scale(j) = variance(j) > 1e-24 ? std::sqrt(variance(j)) : 1.0;
  return s;
}

}  // namespace

kernels::RowsView rows_view(const Eigen::Ref<const Eigen::MatrixXd>& x, const RowRange* ranges,
                            std::size_t range_count) {
  kernels::RowsView view;
  view.data = x.data();
  view.stride = x.outerStride();
  view.cols = static_cast<std::size_t>(x.cols());
  view.ranges = ranges;
  view.range_count = range_count;
  return view;
}

Standardizer Standardizer::fit(Eigen::Ref<const Eigen::MatrixXd> x) {
  RowRange all{0, static_cast<std::size_t>(x.rows())};
  return moments(matrix_view(x, all));
}

Standardizer Standardizer::fit_rows(const Eigen::MatrixXd& source, const std::vector<RowRange>& ranges) {
  return moments(rows_view(source, ranges.data(), ranges.size()));
}

// Multiplies by 1/scale, exactly as the solver's row kernels standardise, so
// a model scores the same rows identically in a trial and from an artifact.
void Standardizer::apply_in_place(Eigen::Ref<Eigen::MatrixXd> x) const {
  Eigen::RowVectorXd inv = scale.cwiseInverse().transpose();
  x.rowwise() -= mean.transpose();
  x.array().rowwise() *= inv.array();
}

Eigen::MatrixXd Standardizer::apply(const Eigen::MatrixXd& x) const {
  Eigen::MatrixXd out = x;
  apply_in_place(out);
  return out;
}

}  // namespace nightshift::trainer
