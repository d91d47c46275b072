// Solvers against scikit-learn's LogisticRegression on the golden fixture.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "stages/trainer/logistic_model.h"
#include "stages/trainer/model_registry.h"

namespace nightshift::trainer {
namespace {

struct Golden {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  nlohmann::json fits;
};

Golden load_golden() {
  std::ifstream in(std::string(TRAINER_FIXTURES) + "/logreg_golden.json");
  auto j = nlohmann::json::parse(in);
  auto rows = j["x"].get<std::vector<std::vector<double>>>();
  auto labels = j["y"].get<std::vector<double>>();
  Golden g;
  g.x.resize(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(rows[0].size()));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t k = 0; k < rows[i].size(); ++k) g.x(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k)) = rows[i][k];
  }
  g.y = Eigen::Map<Eigen::VectorXd>(labels.data(), static_cast<Eigen::Index>(labels.size()));
  g.fits = j["fits"];
  return g;
}

// 1e-4 relative; a coefficient sklearn sets to exactly zero (L1) must be zero
// here too, up to a 1e-8 absolute floor.
void expect_close(double ours, double theirs) {
  if (theirs == 0) {
    EXPECT_NEAR(ours, 0.0, 1e-8);
  } else {
    EXPECT_NEAR(ours, theirs, 1e-4 * std::abs(theirs)) << "relative error " << std::abs(ours / theirs - 1);
  }
}

TEST(TrainerLogistic, CoefficientsMatchScikitLearn) {
  Golden g = load_golden();
  ASSERT_EQ(g.fits.size(), 4u);
  for (const auto& fit : g.fits) {
    auto params = fit["params"].get<std::map<std::string, double>>();
    params["tol"] = 1e-12;
    SCOPED_TRACE(fit["model"].get<std::string>() + " C=" + std::to_string(params["C"]));
    auto model = make_model(fit["model"].get<std::string>(), params);
    ASSERT_TRUE(model.ok()) << model.error();
    ASSERT_TRUE((*model)->fit(g.x, g.y).ok());
    auto& logistic = dynamic_cast<LogisticModel&>(**model);
    auto expected = fit["coefficients"].get<std::vector<double>>();
    ASSERT_EQ(logistic.coefficients().size(), static_cast<Eigen::Index>(expected.size()));
    for (std::size_t k = 0; k < expected.size(); ++k) {
      expect_close(logistic.coefficients()(static_cast<Eigen::Index>(k)), expected[k]);
    }
    expect_close(logistic.intercept(), fit["intercept"].get<double>());
  }
}

TEST(TrainerLogistic, DeterministicAndWarmStartDoesNotChangeTheAnswer) {
  Golden g = load_golden();
  LogisticOptions options{0.3, 0.0, 1e-12, 100};
  LogisticModel cold("logreg_l2", options), again("logreg_l2", options), warm("logreg_l2", options);
  ASSERT_TRUE(cold.fit(g.x, g.y).ok());
  ASSERT_TRUE(again.fit(g.x, g.y).ok());
  EXPECT_EQ(cold.coefficients(), again.coefficients());
  ASSERT_TRUE(warm.fit(g.x.topRows(300), g.y.head(300)).ok());  // a different start point
  ASSERT_TRUE(warm.fit(g.x, g.y).ok());
  EXPECT_LT((warm.coefficients() - cold.coefficients()).lpNorm<Eigen::Infinity>(), 1e-9);
}

TEST(TrainerLogistic, ArtifactJsonRoundTripPredictsTheSame) {
  Golden g = load_golden();
  auto model = make_model("logreg_enet", {{"C", 0.1}, {"l1_ratio", 0.3}});
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE((*model)->fit(g.x, g.y).ok());
  auto loaded = load_model((*model)->to_json());
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ((*loaded)->predict_proba(g.x), (*model)->predict_proba(g.x));
}

TEST(TrainerLogistic, BadModelsAndParamsAreClearErrors) {
  EXPECT_NE(make_model("svm", {}).error().find("unknown model 'svm'"), std::string::npos);
  EXPECT_NE(make_model("logreg_l2", {{"C", -1}}).error().find("C must be > 0"), std::string::npos);
  EXPECT_NE(make_model("logreg_l2", {{"gamma", 1}}).error().find("unknown hyperparameter 'gamma'"),
            std::string::npos);
  EXPECT_FALSE(make_model("logreg_enet", {{"l1_ratio", 2}}).ok());
  LogisticModel model("logreg_l2", {});
  Eigen::MatrixXd x = Eigen::MatrixXd::Ones(10, 2);
  Eigen::VectorXd y = Eigen::VectorXd::Ones(10);
  EXPECT_NE(model.fit(x, y).error().find("single class"), std::string::npos);
}

}  // namespace
}  // namespace nightshift::trainer
