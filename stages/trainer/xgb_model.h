// Gradient-boosted trees through the XGBoost C API (Debian libxgboost-dev):
// objective binary:logistic, tree_method hist, one thread (the worker is the
// unit of parallelism), a fixed seed, so a fit is deterministic.
//
// Trees are invariant to the scaler's affine map, so XGBoost reads the raw
// feature values (fit_rows / predict_proba_rows ignore the fold's scaler):
// the model sees exactly the numbers a Python caller would give it.
//
// Early stopping on the inner validation tail: of a fit's training rows, in
// time order, the last fifth (n / 5, integer division) is the validation
// tail; the rows before it whose label window reaches the tail (t + H >=
// first tail row) are purged, as folds.h purges a test fold. Boosting stops
// after `early_stopping_rounds` rounds without a strictly lower validation
// log loss (XGBoost's Python EarlyStopping, min_delta 0), and the model keeps
// the rounds up to the best one. The tail is made of the fold's training
// rows only: it never touches the fold's test rows or the holdout.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "stages/trainer/model.h"

namespace nightshift::trainer {

struct XgbOptions {
  double eta = 0.1;
  int max_depth = 3;
  double min_child_weight = 1;
  double subsample = 0.8;
  double colsample_bytree = 0.8;
  double lambda = 1;
  double alpha = 0;
  int n_rounds = 200;  // the most boosting rounds
  int early_stopping_rounds = 20;
  std::size_t horizon = 1;  // label horizon H, for the inner tail's purge
};

inline constexpr int kXgbSeed = 0;
inline constexpr std::size_t kXgbValidationDivisor = 5;  // the tail is n / 5 rows
inline constexpr std::size_t kXgbMinRows = 10;           // in the tail and before it

// Known hyperparameters and their checks; `horizon` comes from the job.
Result<XgbOptions> xgb_options(const std::map<std::string, double>& params, std::size_t horizon);

class XgbModel final : public Model {
 public:
  explicit XgbModel(XgbOptions options);
  ~XgbModel() override;
  XgbModel(XgbModel&&) noexcept;
  XgbModel& operator=(XgbModel&&) noexcept;

  std::string name() const override { return "xgb"; }
  // x in time order (row index = bar index for the tail's purge).
  Status fit(Eigen::Ref<const Eigen::MatrixXd> x, Eigen::Ref<const Eigen::VectorXd> y) override;
  Status fit_rows(const RowSelection& rows, const std::vector<double>& labels) override;
  Eigen::VectorXd predict_proba(const Eigen::MatrixXd& x) const override;
  Eigen::VectorXd predict_proba_rows(const RowSelection& rows) const override;
  nlohmann::json to_json() const override;
  Result<nlohmann::json> save_beside(const std::filesystem::path& artifact_path) const override;
  static Result<XgbModel> load(const nlohmann::json& j, const std::filesystem::path& folder);

  int best_iteration() const { return best_iteration_; }  // rounds kept = best + 1
  int rounds_run() const { return rounds_run_; }
  const XgbOptions& options() const { return options_; }

 private:
  struct Booster;
  // Rows as float, row-major; bars[i] is row i's bar index (ascending).
  Status train(const std::vector<float>& x, const std::vector<float>& y, std::size_t cols,
               const std::vector<std::size_t>& bars);
  Eigen::VectorXd predict(const std::vector<float>& x, std::size_t rows, std::size_t cols) const;

  XgbOptions options_;
  std::unique_ptr<Booster> booster_;
  int best_iteration_ = -1;
  int rounds_run_ = 0;
  std::size_t features_ = 0;
};

}  // namespace nightshift::trainer
