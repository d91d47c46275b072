// Metrics against scikit-learn's golden values (tests/fixtures/trainer).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <random>

#include "stages/trainer/metrics.h"
#include "stages/trainer/promotion.h"

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

// Golden value from /usr/bin/python3 (scipy 1.10, Debian):
//   rng = numpy.random.default_rng(3)
//   pos, neg = rng.normal(0.25, 1, 120), rng.normal(0, 1, 80)
//   mannwhitneyu(pos, neg, alternative="greater", method="asymptotic",
//                use_continuity=False)
// -> U / (120 * 80) = 0.5263541666666667, p = 0.26404489507373324.
TEST(TrainerMetrics, AucPValueIsMannWhitneyNormalApproximation) {
  EXPECT_NEAR(auc_p_value(0.5263541666666667, 120, 80), 0.26404489507373324, 1e-12);
  EXPECT_DOUBLE_EQ(auc_p_value(0.5, 50, 50), 0.5);
  // The same AUC is chance on 300 rows and not on 30,000.
  EXPECT_GT(auc_p_value(0.53, 150, 150), 0.15);
  EXPECT_LT(auc_p_value(0.53, 15'000, 15'000), 1e-6);
  EXPECT_TRUE(std::isnan(auc_p_value(0.6, 0, 10)));
  EXPECT_TRUE(std::isnan(auc_p_value(NAN, 10, 10)));
}

TEST(TrainerPromotion, AnAucLikelyByChanceIsNotPromoted) {
  config::PromotionGates gates;  // min_auc 0.52, max_brier 0.26, min_acc 0.50, p 0.05
  std::map<std::string, double> lucky = {
      {"auc", 0.53}, {"brier", 0.249}, {"accuracy", 0.52}, {"auc_p_value", 0.2}};
  auto verdict = judge_gates(lucky, gates);
  EXPECT_FALSE(verdict.promoted);
  EXPECT_EQ(verdict.gates.at("max_auc_p_value"), "fail: 0.2000 > 0.0500");
  EXPECT_EQ(verdict.gates.at("min_auc"), "pass");
  lucky["auc_p_value"] = 0.01;
  EXPECT_TRUE(judge_gates(lucky, gates).promoted);
  lucky.erase("auc_p_value");  // a model judged without it is not promoted
  EXPECT_FALSE(judge_gates(lucky, gates).promoted);
}

}  // namespace
}  // namespace nightshift::trainer
