// Solvers against scikit-learn's LogisticRegression on the golden fixture.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <random>

#include "stages/trainer/logistic_model.h"
#include "stages/trainer/model_registry.h"
#include "stages/trainer/standardizer.h"

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


// Bars-like data: column-major, shifted and scaled columns, labels from a
// weak linear signal plus noise (both classes, not separable).
struct Bars {
  Eigen::MatrixXd x;
  std::vector<double> y;
};

Bars noisy_bars(Eigen::Index rows, Eigen::Index cols, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Bars b;
  b.x.resize(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j) {
    for (Eigen::Index i = 0; i < rows; ++i) b.x(i, j) = 10.0 * static_cast<double>(j) + (1 + j % 4) * normal(rng);
  }
  b.y.resize(static_cast<std::size_t>(rows));
  for (Eigen::Index i = 0; i < rows; ++i) {
    double signal = 0.3 * (b.x(i, 0) - 0.0) - 0.2 * (b.x(i, 1) - 10.0) / 2;
    b.y[static_cast<std::size_t>(i)] = signal + normal(rng) > 0 ? 1.0 : 0.0;
  }
  return b;
}

// The trainer's path (rows read in place from the feature matrix and
// standardised tile by tile) gives the same model as the generic path that
// copies and standardises the rows first (Model's default fit_rows).
TEST(TrainerLogisticSolver, FitRowsInPlaceEqualsFitOnAStandardisedCopy) {
  Bars b = noisy_bars(3000, 6, 1);
  std::vector<RowRange> train = {{10, 1200}, {1500, 2990}};
  std::vector<RowRange> test = {{1200, 1500}};
  Standardizer scaler = Standardizer::fit_rows(b.x, train);
  LogisticOptions options{0.7, 0.0, 1e-12, 100};
  LogisticModel in_place("logreg_l2", options), copied("logreg_l2", options);
  ASSERT_TRUE(in_place.fit_rows({b.x, train, scaler}, b.y).ok());
  ASSERT_TRUE(copied.Model::fit_rows({b.x, train, scaler}, b.y).ok());
  EXPECT_TRUE(in_place.converged()) << in_place.report().describe();
  EXPECT_LT((in_place.coefficients() - copied.coefficients()).lpNorm<Eigen::Infinity>(), 1e-10);
  EXPECT_NEAR(in_place.intercept(), copied.intercept(), 1e-10);
  Eigen::VectorXd p_in_place = in_place.predict_proba_rows({b.x, test, scaler});
  Eigen::VectorXd p_copied = in_place.Model::predict_proba_rows({b.x, test, scaler});
  ASSERT_EQ(p_in_place.size(), 300);
  EXPECT_LT((p_in_place - p_copied).lpNorm<Eigen::Infinity>(), 1e-15);
}

TEST(TrainerLogisticSolver, RowsOutsideTheDataAreAnError) {
  Bars b = noisy_bars(100, 2, 2);
  std::vector<RowRange> past_end = {{0, 101}};
  Standardizer scaler = Standardizer::fit(b.x);
  LogisticModel model("logreg_l2", {});
  EXPECT_NE(model.fit_rows({b.x, past_end, scaler}, b.y).error().find("outside"), std::string::npos);
}

// Perfectly separable classes: without the penalty the optimum would be at
// infinity; with it (even a weak one) Newton converges to a finite point.
TEST(TrainerLogisticSolver, SeparableDataConvergesToAFiniteOptimum) {
  Eigen::MatrixXd x(400, 2);
  Eigen::VectorXd y(400);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> uniform(-1, 1);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    x(i, 0) = uniform(rng);
    x(i, 1) = uniform(rng);
    y(i) = x(i, 0) > 0.05 ? 1 : 0;
  }
  double previous_norm = 0;
  for (double c : {1.0, 1e2, 1e4}) {
    SCOPED_TRACE("C " + std::to_string(c));
    LogisticModel model("logreg_l2", {c, 0.0, 1e-10, 100});
    ASSERT_TRUE(model.fit(x, y).ok());
    EXPECT_TRUE(model.converged()) << model.report().describe();
    EXPECT_LE(model.report().optimality, 1e-10);
    EXPECT_TRUE(model.coefficients().allFinite());
    EXPECT_GT(model.coefficients()(0), previous_norm);  // weaker penalty, steeper separator
    previous_norm = model.coefficients()(0);
    Eigen::VectorXd p = model.predict_proba(x);
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
      if (std::abs(x(i, 0) - 0.05) > 0.05) {
        EXPECT_EQ(p(i) > 0.5, y(i) == 1) << i;
      }
    }
  }
}

// A constant column: raw, it duplicates the intercept (only the penalty
// pins it down, a near-singular Hessian at large C); standardised, it is all
// zeros and its coefficient stays 0.
TEST(TrainerLogisticSolver, ConstantColumnDoesNotDiverge) {
  Bars b = noisy_bars(2000, 3, 4);
  b.x.col(1).setConstant(5.0);
  Eigen::VectorXd y = Eigen::Map<Eigen::VectorXd>(b.y.data(), 2000);
  for (double c : {1.0, 1e10}) {
    SCOPED_TRACE("C " + std::to_string(c));
    LogisticModel model("logreg_l2", {c, 0.0, 1e-10, 100});
    ASSERT_TRUE(model.fit(b.x, y).ok());
    EXPECT_TRUE(model.converged()) << model.report().describe();
    EXPECT_TRUE(model.coefficients().allFinite());
    EXPECT_LT(std::abs(model.coefficients()(1)), 10.0);
  }
  std::vector<RowRange> all = {{0, 2000}};
  Standardizer scaler = Standardizer::fit_rows(b.x, all);
  EXPECT_EQ(scaler.scale(1), 1.0);
  LogisticModel model("logreg_l2", {1.0, 0.0, 1e-10, 100});
  ASSERT_TRUE(model.fit_rows({b.x, all, scaler}, b.y).ok());
  EXPECT_TRUE(model.converged()) << model.report().describe();
  EXPECT_NEAR(model.coefficients()(1), 0.0, 1e-12);
}

TEST(TrainerLogisticSolver, MaxIterStopsWithAClearStatus) {
  Golden g = load_golden();
  LogisticModel model("logreg_l2", {0.5, 0.0, 1e-14, 1});
  ASSERT_TRUE(model.fit(g.x, g.y).ok());  // like sklearn: the last iterate, flagged
  EXPECT_FALSE(model.converged());
  EXPECT_EQ(model.report().stop, SolverStop::kMaxIter);
  EXPECT_EQ(model.iterations(), 1);
  EXPECT_EQ(model.report().passes, 2);
  EXPECT_GT(model.report().optimality, 1e-14);
  EXPECT_NE(model.report().describe().find("max_iter (1) reached"), std::string::npos) << model.report().describe();
  EXPECT_TRUE(model.coefficients().allFinite());

  LogisticModel enough("logreg_l2", {0.5, 0.0, 1e-12, 100});
  ASSERT_TRUE(enough.fit(g.x, g.y).ok());
  EXPECT_TRUE(enough.converged());
  EXPECT_LE(enough.iterations(), 8);  // Newton: a handful of steps
  EXPECT_NE(enough.report().describe().find("converged in"), std::string::npos);
}

// A tol below what double precision resolves ends (no endless backtracking)
// with a status that says so, at the optimum all the same.
TEST(TrainerLogisticSolver, UnreachableTolStopsWithoutLooping) {
  Golden g = load_golden();
  LogisticModel tight("logreg_l2", {0.5, 0.0, 1e-300, 100}), normal("logreg_l2", {0.5, 0.0, 1e-12, 100});
  ASSERT_TRUE(tight.fit(g.x, g.y).ok());
  ASSERT_TRUE(normal.fit(g.x, g.y).ok());
  EXPECT_FALSE(tight.converged());
  EXPECT_LT(tight.report().passes, 200);
  EXPECT_LT((tight.coefficients() - normal.coefficients()).lpNorm<Eigen::Infinity>(), 1e-10);
}

}  // namespace
}  // namespace nightshift::trainer
