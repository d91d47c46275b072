#include "stages/trainer/logistic_model.h"

#include <algorithm>
#include <cmath>

namespace nightshift::trainer {
namespace {

double softplus(double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }
double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  double e = std::exp(z);
  return e / (1.0 + e);
}

// The objective scaled by 1/n (same minimiser as sklearn's):
//   mean logloss + l2/2 |w|^2 + l1 |w|_1, with l2, l1 = (1-r, r) / (C n).
struct Problem {
  const Eigen::MatrixXd& x;
  const Eigen::VectorXd& y;
  double l2 = 0;
  double l1 = 0;
  double inv_n = 0;
};

// Parameters theta = (w, b): the intercept is the last entry.
double objective(const Problem& pb, const Eigen::VectorXd& theta, Eigen::VectorXd& margin) {
  const Eigen::Index p = pb.x.cols();
  margin.noalias() = pb.x * theta.head(p);
  margin.array() += theta(p);
  double loss = 0;
  for (Eigen::Index i = 0; i < margin.size(); ++i) loss += softplus(margin(i)) - pb.y(i) * margin(i);
  return loss * pb.inv_n + 0.5 * pb.l2 * theta.head(p).squaredNorm() +
         pb.l1 * theta.head(p).lpNorm<1>();
}

// Gradient and Hessian of the smooth part at the given margins.
void gradient_hessian(const Problem& pb, const Eigen::VectorXd& theta, const Eigen::VectorXd& margin,
                      Eigen::VectorXd& g, Eigen::MatrixXd& h) {
  const Eigen::Index p = pb.x.cols();
  Eigen::VectorXd residual(margin.size()), weight(margin.size());
  for (Eigen::Index i = 0; i < margin.size(); ++i) {
    double prob = sigmoid(margin(i));
    residual(i) = prob - pb.y(i);
    weight(i) = prob * (1 - prob);
  }
  g.resize(p + 1);
  g.head(p).noalias() = pb.x.transpose() * residual * pb.inv_n;
  g.head(p) += pb.l2 * theta.head(p);
  g(p) = residual.sum() * pb.inv_n;
  Eigen::MatrixXd weighted = pb.x.array().colwise() * weight.array();
  h.resize(p + 1, p + 1);
  h.topLeftCorner(p, p).noalias() = pb.x.transpose() * weighted * pb.inv_n;
  h.topLeftCorner(p, p).diagonal().array() += pb.l2;
  Eigen::VectorXd cross = weighted.colwise().sum().transpose() * pb.inv_n;
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

Status LogisticModel::fit(const Eigen::MatrixXd& x, const Eigen::VectorXd& y) {
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
  Eigen::VectorXd margin, g, trial_margin;
  Eigen::MatrixXd h;
  double f = objective(pb, theta, margin);
  for (iterations_ = 0; iterations_ < options_.max_iter; ++iterations_) {
    gradient_hessian(pb, theta, margin, g, h);
    if (optimality(pb, theta, g) <= options_.tol) break;
    Eigen::VectorXd target = pb.l1 > 0 ? proximal_target(pb, theta, g, h)
                                       : Eigen::VectorXd(theta + h.ldlt().solve(-g));
    Eigen::VectorXd step = target - theta;
    double decrease = g.dot(step) + pb.l1 * (target.head(p).lpNorm<1>() - theta.head(p).lpNorm<1>());
    double t = 1;
    Eigen::VectorXd candidate = target;
    double f_new = objective(pb, candidate, trial_margin);
    while (f_new > f + 1e-4 * t * decrease && t > 1e-10 && decrease < -1e-16) {
      t *= 0.5;
      candidate = theta + t * step;
      f_new = objective(pb, candidate, trial_margin);
    }
    theta = candidate;
    margin.swap(trial_margin);
    f = f_new;
    if (step.lpNorm<Eigen::Infinity>() * t < 1e-15) break;
  }
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
