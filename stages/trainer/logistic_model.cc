#include "stages/trainer/logistic_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace nightshift::trainer {
namespace {

// The objective scaled by 1/n (same minimiser as sklearn's):
//   mean logloss + l2/2 |w|^2 + l1 |w|_1, with l2, l1 = (1-r, r) / (C n).
// One pass over the rows gives its value, gradient and Hessian at a point
// theta = (w, b), intercept last.
struct Point {
  Eigen::VectorXd theta;
  double f = 0;
  Eigen::VectorXd g;
  Eigen::MatrixXd h;  // Hessian of the smooth part (the l1 term has none)
};

class Objective {
 public:
  Objective(const kernels::RowsView& x, const double* labels, double l2, double l1)
      : x_(x), labels_(labels), p_(static_cast<Eigen::Index>(x.cols)),
        inv_n_(1.0 / static_cast<double>(x.rows())), l2_(l2), l1_(l1) {}

  double l1() const { return l1_; }
  int passes() const { return passes_; }

  Point at(Eigen::VectorXd theta) {
    kernels::logistic_pass(x_, labels_, theta.data(), kernels::kLoss | kernels::kGradient | kernels::kHessian,
                           sums_);
    ++passes_;
    const Eigen::Index q = p_ + 1;
    Point pt;
    auto w = theta.head(p_);
    pt.f = sums_.loss * inv_n_ + 0.5 * l2_ * w.squaredNorm() + l1_ * w.lpNorm<1>();
    pt.g = Eigen::Map<const Eigen::VectorXd>(sums_.gradient.data(), q) * inv_n_;
    pt.g.head(p_) += l2_ * w;
    pt.h = Eigen::Map<const Eigen::MatrixXd>(sums_.hessian.data(), q, q) * inv_n_;
    pt.h.diagonal().head(p_).array() += l2_;
    pt.theta = std::move(theta);
    return pt;
  }

  // Distance from optimality: max |subgradient| of the full objective.
  double optimality(const Point& pt) const {
    double worst = std::abs(pt.g(p_));
    for (Eigen::Index j = 0; j < p_; ++j) {
      double wj = pt.theta(j), gj = pt.g(j);
      double v = wj != 0 ? std::abs(gj + l1_ * (wj > 0 ? 1 : -1)) : std::max(0.0, std::abs(gj) - l1_);
      worst = std::max(worst, v);
    }
    return worst;
  }

 private:
  const kernels::RowsView& x_;
  const double* labels_;
  Eigen::Index p_;
  double inv_n_, l2_, l1_;
  kernels::PassSums sums_;
  int passes_ = 0;
};

double soft_threshold(double u, double t) { return u > t ? u - t : (u < -t ? u + t : 0.0); }

// Minimises the quadratic model plus l1 |w|_1 by cyclic coordinate descent.
Eigen::VectorXd proximal_target(double l1, const Point& pt) {
  const Eigen::VectorXd& theta = pt.theta;
  const Eigen::Index d = theta.size();
  Eigen::VectorXd z = theta;
  Eigen::VectorXd hd = Eigen::VectorXd::Zero(d);  // h * (z - theta)
  for (int sweep = 0; sweep < 10'000; ++sweep) {
    double max_change = 0;
    for (Eigen::Index j = 0; j < d; ++j) {
      double a = pt.h(j, j);
      double grad = pt.g(j) + hd(j);
      double updated = j == d - 1 ? z(j) - grad / a : soft_threshold(a * z(j) - grad, l1) / a;
      double change = updated - z(j);
      if (change == 0) continue;
      hd += pt.h.col(j) * change;
      z(j) = updated;
      max_change = std::max(max_change, std::abs(change));
    }
    if (max_change < 1e-14 * (1 + z.lpNorm<Eigen::Infinity>())) break;
  }
  return z;
}

// The selected rows, standardised by the selection's scaler as the kernels
// read them; `inv_scale` holds 1/scale and must outlive the view.
kernels::RowsView scaled_view(const RowSelection& rows, Eigen::VectorXd& inv_scale) {
  inv_scale = rows.scaler.scale.cwiseInverse();
  kernels::RowsView view = rows_view(rows.source, rows.ranges.data(), rows.ranges.size());
  view.mean = rows.scaler.mean.data();
  view.inv_scale = inv_scale.data();
  return view;
}

// The Newton direction: Cholesky of the (features+1)^2 Hessian, LDLT if it is
// numerically indefinite, steepest descent if neither gives a descent step.
Eigen::VectorXd newton_direction(const Point& pt) {
  Eigen::VectorXd d;
  Eigen::LLT<Eigen::MatrixXd> llt(pt.h);
  if (llt.info() == Eigen::Success) {
    d = llt.solve(-pt.g);
  } else {
    d = pt.h.ldlt().solve(-pt.g);
  }
  if (!d.allFinite() || pt.g.dot(d) >= 0) d = -pt.g;
  return d;
}

}  // namespace

std::string FitReport::describe() const {
  switch (stop) {
    case SolverStop::kConverged:
      return fmt::format("converged in {} iterations (|g| {:.3g})", iterations, optimality);
    case SolverStop::kMaxIter:
      return fmt::format("not converged: max_iter ({}) reached with |g| {:.3g}", iterations, optimality);
    case SolverStop::kNoProgress:
      return fmt::format("not converged: no further decrease after {} iterations, |g| {:.3g} "
                         "(tol below what double precision resolves)", iterations, optimality);
  }
  return "unknown";
}

Status LogisticModel::fit(Eigen::Ref<const Eigen::MatrixXd> x, Eigen::Ref<const Eigen::VectorXd> y) {
  if (x.rows() == 0 || y.size() != x.rows()) return make_error("logistic fit: empty data or label size mismatch");
  if (y.innerStride() != 1) {
    Eigen::VectorXd copy = y;
    return fit(x, copy);
  }
  RowRange all{0, static_cast<std::size_t>(x.rows())};
  return fit_view(matrix_view(x, all), y.data());
}

Status LogisticModel::fit_rows(const RowSelection& rows, const std::vector<double>& labels) {
  const auto cols = static_cast<std::size_t>(rows.source.cols());
  if (static_cast<std::size_t>(rows.scaler.mean.size()) != cols ||
      static_cast<std::size_t>(rows.scaler.scale.size()) != cols) {
    return make_error("logistic fit: scaler does not match the feature count");
  }
  for (const auto& r : rows.ranges) {
    if (r.begin > r.end || r.end > static_cast<std::size_t>(rows.source.rows()) || r.end > labels.size()) {
      return make_error("logistic fit: row range outside the data");
    }
  }
  if (rows.rows() == 0) return make_error("logistic fit: empty data or label size mismatch");
  Eigen::VectorXd inv_scale;
  return fit_view(scaled_view(rows, inv_scale), labels.data());
}

Status LogisticModel::fit_view(const kernels::RowsView& x, const double* labels) {
  const std::size_t n = x.rows();
  const auto p = static_cast<Eigen::Index>(x.cols);
  double positives = 0;
  for (std::size_t r = 0; r < x.range_count; ++r) {
    for (std::size_t t = x.ranges[r].begin; t < x.ranges[r].end; ++t) positives += labels[t];
  }
  if (positives == 0 || positives == static_cast<double>(n)) {
    return make_error("logistic fit: training labels have a single class");
  }
  const double lambda = 1.0 / (options_.c * static_cast<double>(n));
  Objective objective(x, labels, lambda * (1 - options_.l1_ratio), lambda * options_.l1_ratio);

  Eigen::VectorXd theta = Eigen::VectorXd::Zero(p + 1);
  if (coef_.size() == p && std::isfinite(intercept_) && coef_.allFinite()) {
    theta.head(p) = coef_;  // warm start from the previous fold
    theta(p) = intercept_;
  } else {
    double mean = positives / static_cast<double>(n);
    theta(p) = std::log(mean / (1 - mean));
  }
  Point current = objective.at(std::move(theta));
  double opt = objective.optimality(current);
  report_ = FitReport{};
  report_.stop = SolverStop::kMaxIter;
  int steps = 0;
  for (;; ++steps) {
    if (opt <= options_.tol) {
      report_.stop = SolverStop::kConverged;
      break;
    }
    if (steps >= options_.max_iter) break;
    const Eigen::VectorXd& now = current.theta;
    Eigen::VectorXd step = objective.l1() > 0 ? Eigen::VectorXd(proximal_target(objective.l1(), current) - now)
                                              : newton_direction(current);
    Eigen::VectorXd target = now + step;
    double decrease = current.g.dot(step) +
                      objective.l1() * (target.head(p).lpNorm<1>() - now.head(p).lpNorm<1>());
    if (!(decrease < 0)) {
      report_.stop = SolverStop::kNoProgress;
      break;
    }
    // Armijo backtracking. Near the optimum a step changes f by less than
    // its rounding error; such a step is taken when it lowers the
    // optimality measure (the gradient is still resolved there).
    const double noise = 64 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::abs(current.f));
    double t = 1;
    Point next = objective.at(std::move(target));
    double next_opt = objective.optimality(next);
    while (!(next.f <= current.f + 1e-4 * t * decrease) && !(next.f <= current.f + noise && next_opt < opt)) {
      t *= 0.5;
      if (t < 1e-10) break;
      next = objective.at(now + t * step);
      next_opt = objective.optimality(next);
    }
    if (t < 1e-10) {
      report_.stop = SolverStop::kNoProgress;
      break;
    }
    current = std::move(next);
    opt = next_opt;
  }
  report_.iterations = steps;
  report_.passes = objective.passes();
  report_.optimality = opt;
  coef_ = current.theta.head(p);
  intercept_ = current.theta(p);
  return Status::success();
}

Eigen::VectorXd LogisticModel::predict_proba(const Eigen::MatrixXd& x) const {
  Eigen::VectorXd out(x.rows());
  if (x.cols() != coef_.size()) {
    out.setConstant(std::numeric_limits<double>::quiet_NaN());
    return out;
  }
  Eigen::VectorXd theta(coef_.size() + 1);
  theta << coef_, intercept_;
  RowRange all{0, static_cast<std::size_t>(x.rows())};
  kernels::logistic_probabilities(matrix_view(x, all), theta.data(), out.data());
  return out;
}

Eigen::VectorXd LogisticModel::predict_proba_rows(const RowSelection& rows) const {
  Eigen::VectorXd out(static_cast<Eigen::Index>(rows.rows()));
  if (rows.source.cols() != coef_.size() || rows.scaler.mean.size() != coef_.size()) {
    out.setConstant(std::numeric_limits<double>::quiet_NaN());
    return out;
  }
  Eigen::VectorXd theta(coef_.size() + 1);
  theta << coef_, intercept_;
  Eigen::VectorXd inv_scale;
  kernels::logistic_probabilities(scaled_view(rows, inv_scale), theta.data(), out.data());
  return out;
}

nlohmann::json LogisticModel::to_json() const {
  return {{"family", "logistic"},
          {"name", name_},
          {"C", options_.c},
          {"l1_ratio", options_.l1_ratio},
          {"tol", options_.tol},
          {"max_iter", options_.max_iter},
          {"coefficients", std::vector<double>(coef_.data(), coef_.data() + coef_.size())},
          {"intercept", intercept_}};
}

Result<LogisticModel> LogisticModel::from_json(const nlohmann::json& j) {
  try {
    LogisticOptions options;
    options.c = j.at("C").get<double>();
    options.l1_ratio = j.at("l1_ratio").get<double>();
    options.tol = j.at("tol").get<double>();
    options.max_iter = j.at("max_iter").get<int>();
    LogisticModel model(j.at("name").get<std::string>(), options);
    auto coef = j.at("coefficients").get<std::vector<double>>();
    model.coef_ = Eigen::Map<Eigen::VectorXd>(coef.data(), static_cast<Eigen::Index>(coef.size()));
    model.intercept_ = j.at("intercept").get<double>();
    return model;
  } catch (const nlohmann::json::exception& e) {
    return make_error(std::string("logistic model: ") + e.what());
  }
}

}  // namespace nightshift::trainer
