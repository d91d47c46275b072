// Metrics against scikit-learn's golden values (tests/fixtures/trainer).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <random>

#include "stages/trainer/metrics.h"

namespace nightshift::trainer {
namespace {

nlohmann::json load(const std::string& name) {
  std::ifstream in(std::string(TRAINER_FIXTURES) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  return nlohmann::json::parse(in);
}

Eigen::VectorXd vec(const nlohmann::json& j) {
  auto v = j.get<std::vector<double>>();
  return Eigen::Map<Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

TEST(TrainerMetrics, EqualScikitLearnGoldenValues) {
  auto golden = load("metrics_golden.json");
  ASSERT_EQ(golden["cases"].size(), 3u);
  for (const auto& c : golden["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    Eigen::VectorXd y = vec(c["labels"]), p = vec(c["probabilities"]);
    EXPECT_NEAR(roc_auc(y, p), c["auc"].get<double>(), 1e-9);
    EXPECT_NEAR(brier_score(y, p), c["brier"].get<double>(), 1e-9);
    EXPECT_NEAR(accuracy(y, p), c["accuracy"].get<double>(), 1e-9);
    EXPECT_NEAR(log_loss(y, p), c["log_loss"].get<double>(), 1e-9);
  }
}

TEST(TrainerMetrics, AucHandlesTiesAndDegenerateCases) {
  Eigen::VectorXd y(4), p(4);
  y << 0, 1, 0, 1;
  p << 0.5, 0.5, 0.5, 0.5;
  EXPECT_DOUBLE_EQ(roc_auc(y, p), 0.5);  // all tied: one threshold, the diagonal
  p << 0.1, 0.9, 0.2, 0.8;
  EXPECT_DOUBLE_EQ(roc_auc(y, p), 1.0);
  p << 0.9, 0.1, 0.8, 0.2;
  EXPECT_DOUBLE_EQ(roc_auc(y, p), 0.0);
  y << 1, 1, 1, 1;
  EXPECT_TRUE(std::isnan(roc_auc(y, p)));
}

// The sorting AUC against the definition, pair by pair: P(score of a
// positive > score of a negative) + half P(equal), on scores with heavy ties,
// negative values and both zeros (-0.0 ties with 0.0).
TEST(TrainerMetrics, AucEqualsPairCountingDefinition) {
  std::mt19937_64 rng(9);
  for (int trial = 0; trial < 20; ++trial) {
    const Eigen::Index n = 50 + 37 * trial;
    Eigen::VectorXd y(n), p(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      y(i) = static_cast<double>(rng() % 3 == 0);
      switch (rng() % 4) {
        case 0: p(i) = static_cast<double>(rng() % 5) / 4; break;  // ties
        case 1: p(i) = (rng() & 1) ? 0.0 : -0.0; break;
        case 2: p(i) = -std::ldexp(static_cast<double>(rng() % 1000), -7); break;
        default: p(i) = std::ldexp(static_cast<double>(rng() >> 11), -53) + 0.3 * y(i); break;
      }
    }
    double wins = 0, positives = 0, negatives = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      if (y(i) == 1) ++positives; else ++negatives;
      for (Eigen::Index k = 0; k < n; ++k) {
        if (y(i) == 1 && y(k) == 0) wins += p(i) > p(k) ? 1.0 : p(i) == p(k) ? 0.5 : 0.0;
      }
    }
    EXPECT_DOUBLE_EQ(roc_auc(y, p), wins / (positives * negatives)) << "trial " << trial;
  }
}

TEST(TrainerMetrics, LogLossWithSoftLabelsUsesBothTerms) {
  Eigen::VectorXd y(2), p(2);
  y << 0.25, 1;
  p << 0.4, 0.7;
  EXPECT_NEAR(log_loss(y, p), -(0.25 * std::log(0.4) + 0.75 * std::log(0.6) + std::log(0.7)) / 2, 1e-15);
}

TEST(TrainerMetrics, LogLossClipsCertainWrongAnswers) {
  Eigen::VectorXd y(2), p(2);
  y << 1, 0;
  p << 0.0, 1.0;
  double loss = log_loss(y, p);
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, -std::log(std::numeric_limits<double>::epsilon()), 1e-9);
}

}  // namespace
}  // namespace nightshift::trainer
