// Metrics against scikit-learn's golden values (tests/fixtures/trainer).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <algorithm>
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
  EXPECT_FALSE(verdict.passed);
  EXPECT_EQ(verdict.gates.at("max_auc_p_value"), "fail: 0.2000 > 0.0500");
  EXPECT_EQ(verdict.gates.at("min_auc"), "pass");
  lucky["auc_p_value"] = 0.01;
  EXPECT_TRUE(judge_gates(lucky, gates).passed);
  lucky.erase("auc_p_value");  // a model judged without it is not promoted
  EXPECT_FALSE(judge_gates(lucky, gates).passed);
}

}  // namespace
}  // namespace nightshift::trainer

namespace nightshift::trainer {
namespace {

// Null holdouts with overlapping labels: a random walk, a score built from
// past returns only (momentum over 1..20 bars, random weights: a model with
// no skill), labels the sign of the next `horizon` returns. The rows are
// dependent exactly as a night's holdout rows are.
struct NullDraws {
  std::vector<double> z, naive_z, p, naive_p;
};

NullDraws null_holdouts(std::size_t horizon, int draws, uint64_t seed) {
  constexpr std::size_t kRows = 435, kWarm = 20;
  const std::size_t windows[] = {1, 2, 3, 5, 10, 20};
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  NullDraws out;
  for (int d = 0; d < draws; ++d) {
    std::vector<double> close(kWarm + kRows + horizon + 1, 0.0);
    for (std::size_t t = 1; t < close.size(); ++t) close[t] = close[t - 1] + normal(rng);
    double weights[6];
    for (double& w : weights) w = normal(rng);
    Eigen::VectorXd labels(kRows), scores(kRows);
    for (std::size_t i = 0; i < kRows; ++i) {
      const std::size_t t = kWarm + i;
      double s = 0;
      for (int k = 0; k < 6; ++k) s += weights[k] * (close[t] - close[t - windows[k]]);
      scores(static_cast<Eigen::Index>(i)) = s;
      labels(static_cast<Eigen::Index>(i)) = close[t + horizon] - close[t] > 0 ? 1.0 : 0.0;
    }
    HoldoutAucTest test = holdout_auc_test(labels, scores, horizon);
    out.z.push_back(test.z);
    out.naive_z.push_back(test.naive_z);
    out.p.push_back(test.p_value);
    out.naive_p.push_back(test.naive_p_value);
  }
  return out;
}

double variance(const std::vector<double>& v) {
  double mean = 0, ss = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  for (double x : v) ss += (x - mean) * (x - mean);
  return ss / static_cast<double>(v.size() - 1);
}

// Kolmogorov-Smirnov distance of p-values from the uniform distribution.
double ks_distance(std::vector<double> p) {
  std::sort(p.begin(), p.end());
  const double n = static_cast<double>(p.size());
  double d = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    d = std::max({d, (static_cast<double>(i) + 1) / n - p[i], p[i] - static_cast<double>(i) / n});
  }
  return d;
}

double share_below(const std::vector<double>& p, double level) {
  return static_cast<double>(std::count_if(p.begin(), p.end(), [&](double v) { return v < level; })) /
         static_cast<double>(p.size());
}

TEST(TrainerHoldoutTest, OverlappingHorizonPValueIsCalibratedWhereTheNaiveOneIsNot) {
  constexpr int kDraws = 600;
  const double ks_critical = 1.63 / std::sqrt(static_cast<double>(kDraws));  // KS at the 1 % level
  for (std::size_t horizon : {1, 3, 5}) {
    NullDraws draws = null_holdouts(horizon, kDraws, 7700 + horizon);
    SCOPED_TRACE("horizon " + std::to_string(horizon));
    RecordProperty("var_z_h" + std::to_string(horizon), std::to_string(variance(draws.z)));
    RecordProperty("var_naive_z_h" + std::to_string(horizon), std::to_string(variance(draws.naive_z)));
    EXPECT_GE(variance(draws.z), 0.8);
    EXPECT_LE(variance(draws.z), 1.25);
    EXPECT_LT(ks_distance(draws.p), ks_critical);
    EXPECT_GT(share_below(draws.p, 0.05), 0.02);
    EXPECT_LT(share_below(draws.p, 0.05), 0.08);
    if (horizon == 1) {
      // Labels do not overlap: the test is the Mann-Whitney test.
      for (int i = 0; i < kDraws; ++i) EXPECT_DOUBLE_EQ(draws.p[i], draws.naive_p[i]);
    } else {
      // The naive p-value, rows taken as independent, is far from uniform.
      EXPECT_GT(variance(draws.naive_z), 1.6);
      EXPECT_GT(ks_distance(draws.naive_p), ks_critical);
      EXPECT_GT(share_below(draws.naive_p, 0.05), 0.09);
    }
  }
}

TEST(TrainerHoldoutTest, MatchesTheDefinitionOnAHandExample) {
  // Labels 1 0 1 1 0 0, two positives tied: AUC = 7/9 by counting pairs;
  // placement values V10 = 1, 2/3, 2/3 and V01 = 1, 1, 1/3 counted by hand.
  Eigen::VectorXd y(6), s(6);
  y << 1, 0, 1, 1, 0, 0;
  s << 0.9, 0.2, 0.4, 0.4, 0.1, 0.6;
  HoldoutAucTest h1 = holdout_auc_test(y, s, 1);
  EXPECT_NEAR(h1.auc, roc_auc(y, s), 1e-15);
  EXPECT_DOUBLE_EQ(h1.variance_ratio, 1.0);
  EXPECT_NEAR(h1.p_value, auc_p_value(h1.auc, 3, 3), 1e-15);
  HoldoutAucTest h2 = holdout_auc_test(y, s, 2);
  // psi: positives (V10 - A)/3, negatives (V01 - A)/3 with A = 7/9.
  const double a = 7.0 / 9.0;
  const double psi[6] = {(1 - a) / 3, (1 - a) / 3, (2.0 / 3 - a) / 3, (2.0 / 3 - a) / 3, (1 - a) / 3,
                         (1.0 / 3 - a) / 3};
  double iid = 0, lag1 = 0;
  for (int t = 0; t < 6; ++t) iid += psi[t] * psi[t];
  for (int t = 0; t < 5; ++t) lag1 += psi[t] * psi[t + 1];
  EXPECT_NEAR(h2.auc, a, 1e-15);
  EXPECT_NEAR(h2.variance_ratio, std::max(1.0, (iid + 2 * lag1) / iid), 1e-12);
  EXPECT_TRUE(std::isnan(holdout_auc_test(Eigen::VectorXd::Ones(4), Eigen::VectorXd::Zero(4), 3).p_value));
}

}  // namespace
}  // namespace nightshift::trainer
