#include "stages/trainer/standardizer.h"

#include <cmath>

namespace nightshift::trainer {

Standardizer Standardizer::fit(Eigen::Ref<const Eigen::MatrixXd> x) {
  Standardizer s;
  const double n = static_cast<double>(std::max<Eigen::Index>(x.rows(), 1));
  s.mean = x.colwise().sum().transpose() / n;
  s.scale.resize(x.cols());
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    double var = (x.col(j).array() - s.mean(j)).square().sum() / n;
    s.scale(j) = var > 1e-24 ? std::sqrt(var) : 1.0;
  }
  return s;
}

void Standardizer::apply_in_place(Eigen::Ref<Eigen::MatrixXd> x) const {
  x.rowwise() -= mean.transpose();
  x.array().rowwise() /= scale.transpose().array();
}

Eigen::MatrixXd Standardizer::apply(const Eigen::MatrixXd& x) const {
  Eigen::MatrixXd out = x;
  apply_in_place(out);
  return out;
}

}  // namespace nightshift::trainer
