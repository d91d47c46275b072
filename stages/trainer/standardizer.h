// Standardisation whose statistics come from training rows only; applied
// unchanged to test rows, the holdout and at prediction time.
#pragma once

#include <Eigen/Dense>

#include <vector>

namespace nightshift::trainer {

struct Standardizer {
  Eigen::VectorXd mean;
  Eigen::VectorXd scale;  // population standard deviation; 1 where constant

  static Standardizer fit(Eigen::Ref<const Eigen::MatrixXd> x);
  Eigen::MatrixXd apply(const Eigen::MatrixXd& x) const;
  void apply_in_place(Eigen::Ref<Eigen::MatrixXd> x) const;
};

}  // namespace nightshift::trainer
