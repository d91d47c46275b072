// The solver's row kernels against plain Eigen / libm references: the fused
// loss + gradient + Hessian pass, probabilities, column moments, and the
// vector exp / log1p. Built twice: in trainer_logistic_test (the version the
// CPU picks at load time) and in trainer_kernels_baseline_test (the baseline
// version a CPU without AVX2 runs).
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "stages/trainer/logistic_kernels.h"
#include "stages/trainer/standardizer.h"

namespace nightshift::trainer {
namespace {

struct Data {
  Eigen::MatrixXd x;  // column-major, like the feature matrix
  std::vector<double> y;
};

Data random_data(Eigen::Index rows, Eigen::Index cols, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Data d;
  d.x.resize(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j) {
    double shift = 3.0 * static_cast<double>(j), spread = 0.5 + static_cast<double>(j % 3);
    for (Eigen::Index i = 0; i < rows; ++i) d.x(i, j) = shift + spread * normal(rng);
  }
  d.y.resize(static_cast<std::size_t>(rows));
  for (auto& v : d.y) v = static_cast<double>(rng() & 1);
  return d;
}

Eigen::MatrixXd gather(const Eigen::MatrixXd& x, const std::vector<RowRange>& ranges) {
  Eigen::Index rows = 0;
  for (const auto& r : ranges) rows += static_cast<Eigen::Index>(r.size());
  Eigen::MatrixXd out(rows, x.cols());
  Eigen::Index at = 0;
  for (const auto& r : ranges) {
    for (std::size_t t = r.begin; t < r.end; ++t) out.row(at++) = x.row(static_cast<Eigen::Index>(t));
  }
  return out;
}

kernels::RowsView view_of(const Eigen::MatrixXd& x, const std::vector<RowRange>& ranges, const Eigen::VectorXd* mean,
                          const Eigen::VectorXd* inv_scale) {
  kernels::RowsView v;
  v.data = x.data();
  v.stride = x.outerStride();
  v.cols = static_cast<std::size_t>(x.cols());
  v.ranges = ranges.data();
  v.range_count = ranges.size();
  v.mean = mean != nullptr ? mean->data() : nullptr;
  v.inv_scale = inv_scale != nullptr ? inv_scale->data() : nullptr;
  return v;
}

// Odd shapes on purpose: rows that fill no whole tile or vector, ranges that
// are empty or one row long, feature counts around the 4-column blocks.
TEST(TrainerKernels, FusedPassEqualsPlainReference) {
  for (Eigen::Index cols : {1, 2, 3, 4, 5, 7, 8, 21}) {
    SCOPED_TRACE("cols " + std::to_string(cols));
    Data d = random_data(1500, cols, 7 + static_cast<unsigned>(cols));
    std::vector<RowRange> ranges = {{3, 400}, {400, 400}, {650, 651}, {900, 1497}};
    Eigen::VectorXd mean(cols), inv_scale(cols);
    for (Eigen::Index j = 0; j < cols; ++j) {
      mean(j) = 3.0 * static_cast<double>(j) + 0.1;
      inv_scale(j) = 1.0 / (0.5 + static_cast<double>(j % 3));
    }
    std::mt19937_64 rng(11);
    std::normal_distribution<double> normal;
    Eigen::VectorXd theta(cols + 1);
    for (auto& v : theta) v = 0.7 * normal(rng);

    Eigen::MatrixXd xs = gather(d.x, ranges);
    xs = ((xs.rowwise() - mean.transpose()).array().rowwise() * inv_scale.transpose().array()).matrix();
    Eigen::MatrixXd xa(xs.rows(), cols + 1);
    xa << xs, Eigen::VectorXd::Ones(xs.rows());
    Eigen::VectorXd y(xs.rows());
    Eigen::Index at = 0;
    for (const auto& r : ranges) {
      for (std::size_t t = r.begin; t < r.end; ++t) y(at++) = d.y[t];
    }
    Eigen::VectorXd z = xa * theta;
    Eigen::ArrayXd p = 1.0 / (1.0 + (-z.array()).exp());
    double loss = 0;
    for (Eigen::Index i = 0; i < z.size(); ++i) {
      loss += std::max(z(i), 0.0) + std::log1p(std::exp(-std::abs(z(i)))) - y(i) * z(i);
    }
    Eigen::VectorXd grad = xa.transpose() * (p.matrix() - y);
    Eigen::MatrixXd hess = xa.transpose() * (p * (1 - p)).matrix().asDiagonal() * xa;

    kernels::PassSums sums;
    kernels::logistic_pass(view_of(d.x, ranges, &mean, &inv_scale), d.y.data(), theta.data(),
                           kernels::kLoss | kernels::kGradient | kernels::kHessian, sums);
    EXPECT_NEAR(sums.loss, loss, 1e-12 * loss);
    ASSERT_EQ(sums.gradient.size(), static_cast<std::size_t>(cols + 1));
    ASSERT_EQ(sums.hessian.size(), static_cast<std::size_t>((cols + 1) * (cols + 1)));
    const double gscale = xa.cwiseAbs().sum();
    for (Eigen::Index j = 0; j <= cols; ++j) {
      EXPECT_NEAR(sums.gradient[static_cast<std::size_t>(j)], grad(j), 1e-13 * gscale) << "gradient " << j;
      for (Eigen::Index k = 0; k <= cols; ++k) {
        EXPECT_NEAR(sums.hessian[static_cast<std::size_t>(j * (cols + 1) + k)], hess(j, k), 1e-13 * gscale)
            << "hessian " << j << "," << k;
      }
    }

    Eigen::VectorXd probs(xs.rows());
    kernels::logistic_probabilities(view_of(d.x, ranges, &mean, &inv_scale), theta.data(), probs.data());
    EXPECT_LT((probs.array() - p).abs().maxCoeff(), 1e-15);
  }
}

TEST(TrainerKernels, PartsComputeOnlyWhatIsAsked) {
  Data d = random_data(300, 3, 5);
  std::vector<RowRange> all = {{0, 300}};
  Eigen::VectorXd theta = Eigen::VectorXd::Constant(4, 0.1);
  kernels::PassSums full, loss_only;
  auto view = view_of(d.x, all, nullptr, nullptr);
  kernels::logistic_pass(view, d.y.data(), theta.data(), kernels::kLoss | kernels::kGradient | kernels::kHessian, full);
  kernels::logistic_pass(view, d.y.data(), theta.data(), kernels::kLoss, loss_only);
  EXPECT_EQ(loss_only.loss, full.loss);
  EXPECT_EQ(loss_only.gradient, std::vector<double>(4, 0.0));
  EXPECT_TRUE(loss_only.hessian.empty());
}

// Far-out margins: probabilities saturate to exactly 0 / 1 with zero weight
// and a finite loss, no NaN or overflow.
TEST(TrainerKernels, ExtremeMarginsStayFinite) {
  Eigen::MatrixXd x(4, 1);
  x << -1e6, -800, 800, 1e6;
  std::vector<double> y = {1, 0, 1, 0};
  std::vector<RowRange> all = {{0, 4}};
  Eigen::VectorXd theta(2);
  theta << 1.0, 0.0;
  kernels::PassSums sums;
  kernels::logistic_pass(view_of(x, all, nullptr, nullptr), y.data(), theta.data(),
                         kernels::kLoss | kernels::kGradient | kernels::kHessian, sums);
  EXPECT_DOUBLE_EQ(sums.loss, 1e6 + 0 + 0 + 1e6);
  EXPECT_DOUBLE_EQ(sums.gradient[1], -1 + 0 + 0 + 1);  // residuals p - y
  for (double h : sums.hessian) EXPECT_EQ(h, 0.0);
  std::vector<double> p(4);
  kernels::logistic_probabilities(view_of(x, all, nullptr, nullptr), theta.data(), p.data());
  EXPECT_EQ(p, (std::vector<double>{0, 0, 1, 1}));
}

TEST(TrainerKernels, VectorExpAndLog1pWithinTwoUlp) {
  std::vector<double> xs, es;
  for (double x = -708; x <= 0; x += 0.0137) xs.push_back(x);
  for (double x : {-1e-300, -1e-17, -0.34657359027997264, -0.34657359027997270, -707.9999, -708.0, 0.0}) {
    xs.push_back(x);
  }
  std::vector<double> out(xs.size());
  kernels::exp_nonpositive(xs.data(), out.data(), xs.size());
  double worst = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) worst = std::max(worst, std::abs(out[i] / std::exp(xs[i]) - 1));
  EXPECT_LE(worst, 2 * std::numeric_limits<double>::epsilon());

  std::vector<double> below = {-708.0001, -745, -1e300, -std::numeric_limits<double>::infinity()};
  std::vector<double> zero(below.size(), 1.0);
  kernels::exp_nonpositive(below.data(), zero.data(), below.size());
  EXPECT_EQ(zero, std::vector<double>(below.size(), 0.0));

  for (double e = 0; e <= 1; e += 1.0 / 4099) es.push_back(e);
  for (double e : {1e-300, 1e-17, 1e-9, 1.0}) es.push_back(e);
  out.resize(es.size());
  kernels::log1p_unit(es.data(), out.data(), es.size());
  worst = 0;
  for (std::size_t i = 0; i < es.size(); ++i) {
    if (es[i] == 0) {
      EXPECT_EQ(out[i], 0.0);
      continue;
    }
    worst = std::max(worst, std::abs(out[i] / std::log1p(es[i]) - 1));
  }
  EXPECT_LE(worst, 2 * std::numeric_limits<double>::epsilon());
}

// Moments over ranges without a copy equal the two-pass textbook values,
// including a column whose mean dwarfs its spread (no sum-of-squares
// cancellation) and a constant column (scale 1).
TEST(TrainerKernels, ScalerOverRangesEqualsTwoPassOnACopy) {
  Data d = random_data(5000, 4, 3);
  d.x.col(2) = d.x.col(2).array() * 1e-3 + 1e6;
  d.x.col(3).setConstant(0.1);
  std::vector<RowRange> ranges = {{0, 1234}, {1300, 1300}, {2000, 4999}};
  Standardizer in_place = Standardizer::fit_rows(d.x, ranges);
  Eigen::MatrixXd copy = gather(d.x, ranges);
  for (Eigen::Index j = 0; j < copy.cols(); ++j) {
    long double sum = 0, squares = 0;  // two-pass in extended precision
    for (Eigen::Index i = 0; i < copy.rows(); ++i) sum += copy(i, j);
    long double mean = sum / copy.rows();
    for (Eigen::Index i = 0; i < copy.rows(); ++i) squares += (copy(i, j) - mean) * (copy(i, j) - mean);
    double sd = static_cast<double>(std::sqrt(squares / copy.rows()));
    EXPECT_NEAR(in_place.mean(j), static_cast<double>(mean), 1e-15 * (std::abs(static_cast<double>(mean)) + sd)) << j;
    if (j == 3) {
      EXPECT_EQ(in_place.scale(j), 1.0);
    } else {
      EXPECT_NEAR(in_place.scale(j), sd, 1e-12 * sd) << j;
    }
  }
  Standardizer whole = Standardizer::fit(copy);
  EXPECT_LT(((whole.mean - in_place.mean).array() / (in_place.mean.cwiseAbs() + in_place.scale).array()).abs().maxCoeff(),
            1e-15);
  EXPECT_LT(((whole.scale - in_place.scale).array() / in_place.scale.array()).abs().maxCoeff(), 1e-12);
}

}  // namespace
}  // namespace nightshift::trainer
