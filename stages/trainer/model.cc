#include "stages/trainer/model.h"

namespace nightshift::trainer {
namespace {

Eigen::MatrixXd standardised_copy(const RowSelection& rows) {
  Eigen::MatrixXd x(static_cast<Eigen::Index>(rows.rows()), rows.source.cols());
  Eigen::Index at = 0;
  for (const auto& r : rows.ranges) {
    auto n = static_cast<Eigen::Index>(r.size());
    x.middleRows(at, n) = rows.source.middleRows(static_cast<Eigen::Index>(r.begin), n);
    at += n;
  }
  rows.scaler.apply_in_place(x);
  return x;
}

}  // namespace

std::size_t RowSelection::rows() const {
  std::size_t n = 0;
  for (const auto& r : ranges) n += r.size();
  return n;
}

Status Model::fit_rows(const RowSelection& rows, const std::vector<double>& labels) {
  Eigen::VectorXd y(static_cast<Eigen::Index>(rows.rows()));
  Eigen::Index at = 0;
  for (const auto& r : rows.ranges) {
    for (std::size_t t = r.begin; t < r.end; ++t) y(at++) = labels[t];
  }
  return fit(standardised_copy(rows), y);
}

Eigen::VectorXd Model::predict_proba_rows(const RowSelection& rows) const {
  return predict_proba(standardised_copy(rows));
}

}  // namespace nightshift::trainer
