// Regularised logistic regression, intercept unpenalised, minimising
// scikit-learn's objective (so coefficients match LogisticRegression):
//   C * sum_i logloss_i + (1 - l1_ratio) / 2 * |w|^2 + l1_ratio * |w|_1
// Solver: Newton's method (IRLS) with a Cholesky (LDLT) solve of the small
// (features+1)^2 system for L2; proximal Newton with coordinate descent on
// the same quadratic model for L1 / elastic net. Backtracking line search in
// both. Deterministic: no randomness, fixed iteration order.
#pragma once

#include "stages/trainer/model.h"

namespace nightshift::trainer {

struct LogisticOptions {
  double c = 1.0;         // inverse regularisation strength, as in sklearn
  double l1_ratio = 0.0;  // 0 = L2, 1 = L1, between = elastic net
  double tol = 1e-8;      // max |gradient| (scaled objective) at convergence
  int max_iter = 100;     // Newton iterations
};

class LogisticModel final : public Model {
 public:
  LogisticModel(std::string name, LogisticOptions options)
      : name_(std::move(name)), options_(options) {}

  std::string name() const override { return name_; }
  Status fit(Eigen::Ref<const Eigen::MatrixXd> x, Eigen::Ref<const Eigen::VectorXd> y) override;
  Eigen::VectorXd predict_proba(const Eigen::MatrixXd& x) const override;
  nlohmann::json to_json() const override;
  static Result<LogisticModel> from_json(const nlohmann::json& j);

  const Eigen::VectorXd& coefficients() const { return coef_; }
  double intercept() const { return intercept_; }
  int iterations() const { return iterations_; }
  const LogisticOptions& options() const { return options_; }

 private:
  std::string name_;
  LogisticOptions options_;
  Eigen::VectorXd coef_;
  double intercept_ = 0;
  int iterations_ = 0;
};

}  // namespace nightshift::trainer
