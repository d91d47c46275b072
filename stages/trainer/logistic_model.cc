#include "stages/trainer/logistic_model.h"

#include <algorithm>
#include <cmath>

namespace nightshift::trainer {
namespace {

double sigmoid(double z) {
  double e = std::exp(-std::abs(z));
  return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

// The objective scaled by 1/n (same minimiser as sklearn's):
//   mean logloss + l2/2 |w|^2 + l1 |w|_1, with l2, l1 = (1-r, r) / (C n).
struct Problem {
  Eigen::Ref<const Eigen::MatrixXd> x;
  Eigen::Ref<const Eigen::VectorXd> y;
  double l2 = 0;
  double l1 = 0;
  double inv_n = 0;
};

// The model at one parameter point theta = (w, b), intercept last: the
// objective and each row's probability, from one exp per row.
struct Point {
  Eigen::VectorXd theta;
  Eigen::VectorXd prob;
  double f = 0;
};

Point evaluate(const Problem& pb, Eigen::VectorXd theta) {
  const Eigen::Index p = pb.x.cols();
  Point pt;
  pt.prob.noalias() = pb.x * theta.head(p);
  double loss = 0;
  for (Eigen::Index i = 0; i < pt.prob.size(); ++i) {
    double z = pt.prob(i) + theta(p);
    double e = std::exp(-std::abs(z));
    loss += std::max(z, 0.0) + std::log1p(e) - pb.y(i) * z;  // softplus(z) - y z
    pt.prob(i) = z >= 0 ? 1 / (1 + e) : e / (1 + e);
  }
  pt.f = loss * pb.inv_n + 0.5 * pb.l2 * theta.head(p).squaredNorm() +
         pb.l1 * theta.head(p).lpNorm<1>();
  pt.theta = std::move(theta);
  return pt;
}

// Gradient and Hessian of the smooth part. The Hessian's feature block is a
// symmetric rank update (half the work of a general product), taken over
// row chunks that stay in cache: one n x p temporary per iteration would
// cost more in page faults than the arithmetic.
void gradient_hessian(const Problem& pb, const Point& pt, Eigen::VectorXd& g, Eigen::MatrixXd& h) {
  constexpr Eigen::Index kChunkRows = 2048;
  const Eigen::Index n = pb.x.rows(), p = pb.x.cols();
  Eigen::VectorXd residual = pt.prob - pb.y;
  Eigen::ArrayXd weight = pt.prob.array() * (1 - pt.prob.array());
  Eigen::ArrayXd root_weight = weight.sqrt();
  g.resize(p + 1);
  g.head(p).noalias() = pb.x.transpose() * residual * pb.inv_n;
  g.head(p) += pb.l2 * pt.theta.head(p);
  g(p) = residual.sum() * pb.inv_n;
  h.setZero(p + 1, p + 1);
  Eigen::MatrixXd chunk(std::min(kChunkRows, n), p);
  for (Eigen::Index begin = 0; begin < n; begin += kChunkRows) {
    Eigen::Index rows = std::min(kChunkRows, n - begin);
    chunk.topRows(rows) = pb.x.middleRows(begin, rows).array().colwise() * root_weight.segment(begin, rows);
    h.topLeftCorner(p, p).selfadjointView<Eigen::Lower>().rankUpdate(chunk.topRows(rows).transpose(), pb.inv_n);
  }
  h.topLeftCorner(p, p).triangularView<Eigen::StrictlyUpper>() = h.topLeftCorner(p, p).transpose();
  h.topLeftCorner(p, p).diagonal().array() += pb.l2;
  Eigen::VectorXd cross = (pb.x.transpose() * weight.matrix()) * pb.inv_n;
  h.block(0, p, p, 1) = cross;
  h.block(p, 0, 1, p) = cross.transpose();
  h(p, p) = weight.sum() * pb.inv_n;
}

// Distance from optimality: max |subgradient| of the full objective.
double optimality(const Problem& pb, const Eigen::VectorXd& theta, const Eigen::VectorXd& g) {
  const Eigen::Index p = pb.x.cols();
  double worst = std::abs(g(p));
  for (Eigen::Index j = 0; j < p; ++j) {
    double v = theta(j) != 0 ? std::abs(g(j) + pb.l1 * (theta(j) > 0 ? 1 : -1))
                             : std::max(0.0, std::abs(g(j)) - pb.l1);
    worst = std::max(worst, v);
  }
  return worst;
}

double soft_threshold(double u, double t) { return u > t ? u - t : (u < -t ? u + t : 0.0); }

// Minimises the quadratic model plus l1 |w|_1 by cyclic coordinate descent.
Eigen::VectorXd proximal_target(const Problem& pb, const Eigen::VectorXd& theta,
                                const Eigen::VectorXd& g, const Eigen::MatrixXd& h) {
  const Eigen::Index d = theta.size();
  Eigen::VectorXd z = theta;
  Eigen::VectorXd hd = Eigen::VectorXd::Zero(d);  // h * (z - theta)
  for (int sweep = 0; sweep < 10'000; ++sweep) {
    double max_change = 0;
    for (Eigen::Index j = 0; j < d; ++j) {
      double a = h(j, j);
      double grad = g(j) + hd(j);
      double updated = j == d - 1 ? z(j) - grad / a : soft_threshold(a * z(j) - grad, pb.l1) / a;
      double change = updated - z(j);
      if (change == 0) continue;
      hd += h.col(j) * change;
      z(j) = updated;
      max_change = std::max(max_change, std::abs(change));
    }
    if (max_change < 1e-14 * (1 + z.lpNorm<Eigen::Infinity>())) break;
  }
  return z;
}

}  // namespace

Status LogisticModel::fit(Eigen::Ref<const Eigen::MatrixXd> x, Eigen::Ref<const Eigen::VectorXd> y) {
  const Eigen::Index n = x.rows(), p = x.cols();
  if (n == 0 || y.size() != n) return make_error("logistic fit: empty data or label size mismatch");
  double positives = y.sum();
  if (positives == 0 || positives == static_cast<double>(n)) {
    return make_error("logistic fit: training labels have a single class");
  }
  Problem pb{x, y, 0, 0, 1.0 / static_cast<double>(n)};
  double lambda = 1.0 / (options_.c * static_cast<double>(n));
  pb.l2 = lambda * (1 - options_.l1_ratio);
  pb.l1 = lambda * options_.l1_ratio;

  Eigen::VectorXd theta = Eigen::VectorXd::Zero(p + 1);
  if (coef_.size() == p) {
    theta.head(p) = coef_;  // warm start from the previous fold
    theta(p) = intercept_;
  } else {
    double mean = positives / static_cast<double>(n);
    theta(p) = std::log(mean / (1 - mean));
  }
  Point current = evaluate(pb, theta);
  Eigen::VectorXd g;
  Eigen::MatrixXd h;
  for (iterations_ = 0; iterations_ < options_.max_iter; ++iterations_) {
    gradient_hessian(pb, current, g, h);
    if (optimality(pb, current.theta, g) <= options_.tol) break;
    const Eigen::VectorXd& now = current.theta;
    Eigen::VectorXd target = pb.l1 > 0 ? proximal_target(pb, now, g, h)
                                       : Eigen::VectorXd(now + h.ldlt().solve(-g));
    Eigen::VectorXd step = target - now;
    double decrease = g.dot(step) + pb.l1 * (target.head(p).lpNorm<1>() - now.head(p).lpNorm<1>());
    double t = 1;
    Point next = evaluate(pb, target);
    while (next.f > current.f + 1e-4 * t * decrease && t > 1e-10 && decrease < -1e-16) {
      t *= 0.5;
      next = evaluate(pb, now + t * step);
    }
    current = std::move(next);
    if (step.lpNorm<Eigen::Infinity>() * t < 1e-15) break;
  }
  theta = current.theta;
  coef_ = theta.head(p);
  intercept_ = theta(p);
  return Status::success();
}

Eigen::VectorXd LogisticModel::predict_proba(const Eigen::MatrixXd& x) const {
  Eigen::VectorXd margin = x * coef_;
  margin.array() += intercept_;
  return margin.unaryExpr([](double z) { return sigmoid(z); });
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
