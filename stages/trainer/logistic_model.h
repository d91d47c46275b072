// Regularised logistic regression, intercept unpenalised, minimising
// scikit-learn's objective (so coefficients match LogisticRegression):
//   C * sum_i logloss_i + (1 - l1_ratio) / 2 * |w|^2 + l1_ratio * |w|_1
// Solver: Newton's method (IRLS) with a Cholesky (LLT, LDLT as fallback)
// solve of the small (features+1)^2 system for L2; proximal Newton with
// coordinate descent on the same quadratic model for L1 / elastic net.
// Backtracking (Armijo) line search in both. Each trial point costs one pass
// over the rows that yields the objective, gradient and Hessian together
// (logistic_kernels.h); fit_rows reads a fold's rows in place from the
// feature matrix. Deterministic: no randomness, fixed summation order.
#pragma once

#include <string>

#include "stages/trainer/logistic_kernels.h"
#include "stages/trainer/model.h"

namespace nightshift::trainer {

struct LogisticOptions {
  double c = 1.0;         // inverse regularisation strength, as in sklearn
  double l1_ratio = 0.0;  // 0 = L2, 1 = L1, between = elastic net
  double tol = 1e-8;      // max |(sub)gradient| of the per-row objective at convergence
  int max_iter = 100;     // Newton iterations
};

// Why the solver stopped. A fit that did not converge still returns the last
// iterate (as scikit-learn does, with a ConvergenceWarning); report() says so.
enum class SolverStop {
  kConverged,   // max |(sub)gradient| <= tol
  kMaxIter,     // max_iter Newton steps taken, not yet within tol
  kNoProgress,  // the line search found no decrease: tol is below what double precision resolves here
};

struct FitReport {
  SolverStop stop = SolverStop::kConverged;
  int iterations = 0;       // Newton steps taken
  int passes = 0;           // passes over the training rows
  double optimality = 0;    // max |(sub)gradient| of the per-row objective at the result
  std::string describe() const;  // e.g. "converged in 3 iterations (|g| 2e-12 <= tol 1e-10)"
};

class LogisticModel final : public Model {
 public:
  LogisticModel(std::string name, LogisticOptions options)
      : name_(std::move(name)), options_(options) {}

  std::string name() const override { return name_; }
  Status fit(Eigen::Ref<const Eigen::MatrixXd> x, Eigen::Ref<const Eigen::VectorXd> y) override;
  Status fit_rows(const RowSelection& rows, const std::vector<double>& labels) override;
  Eigen::VectorXd predict_proba(const Eigen::MatrixXd& x) const override;
  Eigen::VectorXd predict_proba_rows(const RowSelection& rows) const override;
  nlohmann::json to_json() const override;
  static Result<LogisticModel> from_json(const nlohmann::json& j);

  const Eigen::VectorXd& coefficients() const { return coef_; }
  double intercept() const { return intercept_; }
  int iterations() const { return report_.iterations; }
  bool converged() const { return report_.stop == SolverStop::kConverged; }
  const FitReport& report() const { return report_; }
  const LogisticOptions& options() const { return options_; }

 private:
  // labels indexed like the view's rows.
  Status fit_view(const kernels::RowsView& x, const double* labels);

  std::string name_;
  LogisticOptions options_;
  Eigen::VectorXd coef_;
  double intercept_ = 0;
  FitReport report_;
};

}  // namespace nightshift::trainer
