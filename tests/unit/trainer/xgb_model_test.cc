// The xgb model (XGBoost C API) against the Python xgboost package on the
// golden fixture (tests/fixtures/trainer/make_xgb_golden.py): per-fold
// predictions, best iterations and metrics, out-of-fold metrics, within
// 1e-6. XGB_GOLDEN_DIR points the test at a freshly generated fixture
// (ctest trainer_xgb_golden_live), so drift of either side is caught.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/search_space.h"
#include "stages/trainer/artifact.h"
#include "stages/trainer/model_registry.h"
#include "stages/trainer/trial.h"
#include "stages/trainer/xgb_model.h"

namespace nightshift::trainer {
namespace {

constexpr double kTolerance = 1e-6;

nlohmann::json load_golden() {
  const char* dir = std::getenv("XGB_GOLDEN_DIR");
  std::string path = std::string(dir != nullptr ? dir : TRAINER_FIXTURES) + "/xgb_golden.json";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return nlohmann::json::parse(in);
}

// The generator's dataset, bit for bit: a 64-bit LCG, u = (state >> 11) / 2^53.
struct Dataset {
  FeatureMatrix features;
  std::vector<double> labels;
};

Dataset make_dataset(std::size_t rows, std::size_t cols, uint64_t seed) {
  uint64_t state = seed;
  auto uniform = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) * (1.0 / 9007199254740992.0);
  };
  Dataset d;
  d.features.values.resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  for (std::size_t j = 0; j < cols; ++j) d.features.names.push_back("x" + std::to_string(j));
  for (std::size_t i = 0; i < rows; ++i) {
    auto r = static_cast<Eigen::Index>(i);
    for (std::size_t j = 0; j < cols; ++j) d.features.values(r, static_cast<Eigen::Index>(j)) = 4.0 * uniform() - 2.0;
    const double noise = 2.0 * uniform() - 1.0;
    const auto& x = d.features.values;
    const double score = x(r, 0) + 0.5 * x(r, 1) * x(r, 2) - 0.25 * x(r, 3) + noise;
    d.labels.push_back(score > 0.0 ? 1.0 : 0.0);
  }
  return d;
}

std::vector<Fold> folds_of(const nlohmann::json& j) {
  std::vector<Fold> folds;
  for (const auto& f : j) {
    Fold fold;
    for (const auto& r : f["train"]) fold.train.push_back(RowRange{r[0].get<std::size_t>(), r[1].get<std::size_t>()});
    fold.test = RowRange{f["test"][0].get<std::size_t>(), f["test"][1].get<std::size_t>()};
    folds.push_back(fold);
  }
  return folds;
}

class XgbGolden : public ::testing::Test {
 protected:
  void SetUp() override {
    golden_ = load_golden();
    data_ = make_dataset(golden_["rows"], golden_["features"], golden_["seed"]);
    folds_ = folds_of(golden_["folds"]);
  }
  nlohmann::json golden_;
  Dataset data_;
  std::vector<Fold> folds_;
};

TEST_F(XgbGolden, DatasetIsTheGeneratorsBitForBit) {
  auto first = golden_["first_row"].get<std::vector<double>>();
  for (std::size_t j = 0; j < first.size(); ++j) EXPECT_EQ(data_.features.values(0, static_cast<Eigen::Index>(j)), first[j]);
  double sum = 0;
  for (double y : data_.labels) sum += y;
  EXPECT_EQ(sum, golden_["label_sum"].get<double>());
}

TEST_F(XgbGolden, PredictionsAndBestIterationsEqualPythonXgboost) {
  const auto horizon = golden_["horizon"].get<std::size_t>();
  double max_diff = 0;
  for (const auto& c : golden_["cases"]) {
    auto params = c["params"].get<std::map<std::string, double>>();
    for (std::size_t k = 0; k < folds_.size(); ++k) {
      SCOPED_TRACE("case eta=" + std::to_string(params["eta"]) + " fold " + std::to_string(k));
      auto options = xgb_options(params, horizon);
      ASSERT_TRUE(options.ok()) << options.error();
      XgbModel model(*options);
      Standardizer scaler = Standardizer::fit_rows(data_.features.values, folds_[k].train);
      ASSERT_TRUE(model.fit_rows(RowSelection{data_.features.values, folds_[k].train, scaler}, data_.labels).ok());
      const auto& expected = c["folds"][k];
      EXPECT_EQ(model.best_iteration(), expected["best_iteration"].get<int>());
      std::vector<RowRange> test = {folds_[k].test};
      Eigen::VectorXd p = model.predict_proba_rows(RowSelection{data_.features.values, test, scaler});
      auto want = expected["predictions"].get<std::vector<double>>();
      ASSERT_EQ(static_cast<std::size_t>(p.size()), want.size());
      for (std::size_t i = 0; i < want.size(); ++i) {
        max_diff = std::max(max_diff, std::abs(p(static_cast<Eigen::Index>(i)) - want[i]));
        EXPECT_NEAR(p(static_cast<Eigen::Index>(i)), want[i], kTolerance) << "row " << i;
      }
    }
  }
  std::printf("max |prediction - python xgboost| = %.3g\n", max_diff);
}

TEST_F(XgbGolden, FoldAndOutOfFoldMetricsEqualPythonXgboost) {
  const auto horizon = golden_["horizon"].get<std::size_t>();
  LabelledData data{data_.features, data_.labels};
  double max_diff = 0;
  for (const auto& c : golden_["cases"]) {
    auto outcome = cross_validate(data, folds_, "xgb", c["params"].get<std::map<std::string, double>>(), horizon);
    ASSERT_TRUE(outcome.ok()) << outcome.error();
    ASSERT_EQ(outcome->folds.size(), folds_.size());
    auto compare = [&](const std::map<std::string, double>& ours, const nlohmann::json& theirs) {
      for (const char* name : {"auc", "brier", "accuracy", "log_loss"}) {
        ASSERT_TRUE(ours.count(name)) << name;
        max_diff = std::max(max_diff, std::abs(ours.at(name) - theirs[name].get<double>()));
        EXPECT_NEAR(ours.at(name), theirs[name].get<double>(), kTolerance) << name;
      }
    };
    for (std::size_t k = 0; k < folds_.size(); ++k) compare(outcome->folds[k].metrics, c["folds"][k]["metrics"]);
    compare(outcome->oof_metrics, c["oof_metrics"]);
  }
  std::printf("max |metric - python xgboost + sklearn| = %.3g\n", max_diff);
}

TEST(TrainerXgb, ArtifactKeepsXgboostJsonBesideAndPredictsTheSame) {
  Dataset d = make_dataset(400, 4, 7);
  auto model = make_model("xgb", {{"n_rounds", 30}, {"max_depth", 2}}, 2);
  ASSERT_TRUE(model.ok()) << model.error();
  std::vector<RowRange> train = {RowRange{0, 300}}, test = {RowRange{300, 400}};
  Standardizer scaler = Standardizer::fit_rows(d.features.values, train);
  ASSERT_TRUE((*model)->fit_rows(RowSelection{d.features.values, train, scaler}, d.labels).ok());
  Eigen::VectorXd before = (*model)->predict_proba_rows(RowSelection{d.features.values, test, scaler});

  auto dir = std::filesystem::temp_directory_path() / ("xgb_artifact_" + std::to_string(getpid()));
  Artifact a;
  a.info.run = "r1";
  a.info.study = "s1";
  a.info.timeframe = "1h";
  a.feature_names = d.features.names;
  a.scaler = scaler;
  a.model = std::move(*model);
  a.code_version = code_version();
  auto path = write_artifact(dir.string(), a);
  ASSERT_TRUE(path.ok()) << path.error();
  const auto booster = dir / "r1" / "s1.xgb.json";
  ASSERT_TRUE(std::filesystem::exists(booster));
  auto booster_json = nlohmann::json::parse(std::ifstream(booster));
  EXPECT_TRUE(booster_json.contains("learner"));  // XGBoost's own model format
  auto meta = nlohmann::json::parse(std::ifstream(*path));
  EXPECT_EQ(meta["model"]["family"], "xgb");
  EXPECT_EQ(meta["model"]["booster_file"], "s1.xgb.json");

  auto read = read_artifact(*path);
  ASSERT_TRUE(read.ok()) << read.error();
  Eigen::VectorXd after = read->model->predict_proba_rows(RowSelection{d.features.values, test, read->scaler});
  ASSERT_EQ(after.size(), before.size());
  for (Eigen::Index i = 0; i < after.size(); ++i) EXPECT_EQ(after(i), before(i));

  std::filesystem::remove(booster);
  auto missing = read_artifact(*path);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("loading the booster"), std::string::npos) << missing.error();
  std::filesystem::remove_all(dir);
}

TEST(TrainerXgb, BadParametersAreErrorsThatNameThem) {
  EXPECT_NE(make_model("xgb", {{"gamma", 1}}).error().find("unknown hyperparameter 'gamma'"), std::string::npos);
  EXPECT_NE(make_model("xgb", {{"eta", 0}}).error().find("eta must be in (0, 1]"), std::string::npos);
  EXPECT_NE(make_model("xgb", {{"max_depth", 2.5}}).error().find("max_depth must be a whole number"),
            std::string::npos);
  EXPECT_NE(make_model("xgb", {{"subsample", 1.5}}).error().find("subsample"), std::string::npos);
  EXPECT_TRUE(make_model("xgb", {}).ok());
}

// config/search_space.cc lists the families and their parameters for
// `config validate`; the trainer must make every one of them.
TEST(TrainerModels, EveryConfiguredFamilyAndItsSpaceAreAcceptedByTheTrainer) {
  for (const auto& family : config::model_families()) {
    SCOPED_TRACE(family.name);
    auto with_defaults = make_model(family.name, family.defaults);
    EXPECT_TRUE(with_defaults.ok()) << with_defaults.error();
    for (const auto& [param, space] : family.space) {
      for (double v : config::grid_points(space)) {
        auto model = make_model(family.name, {{param, v}});
        EXPECT_TRUE(model.ok()) << param << "=" << v << ": " << model.error();
      }
      auto low = make_model(family.name, {{param, space.low}});
      EXPECT_TRUE(low.ok()) << param << " low: " << low.error();
      auto high = make_model(family.name, {{param, space.high}});
      EXPECT_TRUE(high.ok()) << param << " high: " << high.error();
    }
  }
}

TEST(TrainerXgb, TooFewRowsForTheInnerTailIsAnError) {
  Dataset d = make_dataset(40, 3, 1);
  auto model = make_model("xgb", {}, 1);
  ASSERT_TRUE(model.ok());
  std::vector<RowRange> train = {RowRange{0, 40}};
  Standardizer scaler = Standardizer::fit_rows(d.features.values, train);
  auto st = (*model)->fit_rows(RowSelection{d.features.values, train, scaler}, d.labels);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().find("inner validation tail"), std::string::npos) << st.error();
}

// The tail never reaches outside the fold's training rows: changing every
// label and feature outside them (test rows, holdout) leaves the fit alone.
TEST(TrainerXgb, FitReadsOnlyTheFoldsTrainingRows) {
  Dataset a = make_dataset(600, 4, 11);
  Dataset b = a;
  std::vector<RowRange> train = {RowRange{0, 200}, RowRange{300, 450}}, test = {RowRange{200, 300}};
  for (std::size_t t = 200; t < 300; ++t) b.labels[t] = 1 - b.labels[t];
  for (std::size_t t = 450; t < 600; ++t) b.labels[t] = 1 - b.labels[t];
  b.features.values.middleRows(200, 100).setConstant(5.0);
  b.features.values.bottomRows(150).setConstant(-5.0);
  auto fit = [&](const Dataset& d) {
    auto model = make_model("xgb", {{"n_rounds", 40}}, 2);
    Standardizer scaler = Standardizer::fit_rows(d.features.values, train);
    EXPECT_TRUE((*model)->fit_rows(RowSelection{d.features.values, train, scaler}, d.labels).ok());
    return (*model)->predict_proba_rows(RowSelection{a.features.values, test, scaler});
  };
  Eigen::VectorXd pa = fit(a), pb = fit(b);
  for (Eigen::Index i = 0; i < pa.size(); ++i) EXPECT_EQ(pa(i), pb(i));
}

TEST(TrainerPrune, StopsAfterTheFirstFoldWhoseRunningMeanIsBelowItsThreshold) {
  PruneThresholds prune;
  prune.first_fold = 1;
  prune.running_auc_below = {0.60, 0.55};
  // fold 0 is warm-up: no threshold, however low.
  EXPECT_FALSE(prune_after_fold(prune, 0, 5, {0.40}));
  // running mean after fold 1: (0.40 + 0.70) / 2 = 0.55 < 0.60
  EXPECT_TRUE(prune_after_fold(prune, 1, 5, {0.40, 0.70}));
  EXPECT_FALSE(prune_after_fold(prune, 1, 5, {0.50, 0.80}));  // 0.65
  // fold 2: mean 0.5667 >= 0.55
  EXPECT_FALSE(prune_after_fold(prune, 2, 5, {0.50, 0.60, 0.60}));
  // no threshold for fold 3; never after the last fold
  EXPECT_FALSE(prune_after_fold(prune, 3, 5, {0.1, 0.1, 0.1, 0.1}));
  prune.running_auc_below = {0.9, 0.9, 0.9, 0.9};
  EXPECT_FALSE(prune_after_fold(prune, 4, 5, {0.1, 0.1, 0.1, 0.1, 0.1}));
  // an undefined fold AUC is left out of the mean
  EXPECT_TRUE(prune_after_fold(prune, 1, 5, {NAN, 0.5}));
  EXPECT_FALSE(prune_after_fold(prune, 1, 5, {NAN, NAN}));
}

TEST(TrainerPrune, CrossValidateStopsAndSaysPruned) {
  Dataset d = make_dataset(900, 5, 20261203);
  LabelledData data{d.features, d.labels};
  auto folds = make_folds(0, 900, CvSpec{CvScheme::purged_kfold, 5, 1, 1, 50, 20});
  ASSERT_TRUE(folds.ok());
  PruneThresholds high;
  high.first_fold = 1;
  high.running_auc_below = {0.999, 0.999, 0.999};
  auto pruned = cross_validate(data, *folds, "logreg_l2", {}, 1, &high);
  ASSERT_TRUE(pruned.ok()) << pruned.error();
  EXPECT_TRUE(pruned->pruned);
  EXPECT_EQ(pruned->folds.size(), 2u);  // fold 0 (warm-up) and fold 1
  EXPECT_TRUE(pruned->oof_metrics.count("auc"));
  PruneThresholds low = high;
  low.running_auc_below = {0.1, 0.1, 0.1};
  auto full = cross_validate(data, *folds, "logreg_l2", {}, 1, &low);
  ASSERT_TRUE(full.ok());
  EXPECT_FALSE(full->pruned);
  EXPECT_EQ(full->folds.size(), 5u);
}

}  // namespace
}  // namespace nightshift::trainer
