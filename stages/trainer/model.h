// The model interface. A trial or final fit only talks to Model, so another
// family (e.g. gradient-boosted trees through a library) is one more class
// registered in model_registry.cc; the worker loop does not change.
//
// Inputs are standardised features (rows x features) and 0/1 labels.
// fit() may start from the previous solution (warm start across folds); the
// result must not depend on it beyond solver tolerance.
//
// fit_rows / predict_proba_rows take a fold's rows where they are (a range
// list over the feature matrix plus the fold's scaler). The default copies
// and standardises them, then calls fit / predict_proba; a model that can
// read them in place (LogisticModel) overrides them and saves the copy.
#pragma once

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "schema/result.h"
#include "stages/trainer/folds.h"
#include "stages/trainer/standardizer.h"

namespace nightshift::trainer {

// Rows `ranges` (disjoint, ascending) of `source` (bars x features),
// standardised by `scaler`. References: the selection does not own them.
struct RowSelection {
  const Eigen::MatrixXd& source;
  const std::vector<RowRange>& ranges;
  const Standardizer& scaler;
  std::size_t rows() const;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string name() const = 0;
  virtual Status fit(Eigen::Ref<const Eigen::MatrixXd> x, Eigen::Ref<const Eigen::VectorXd> y) = 0;
  // P(label = 1) per row.
  virtual Eigen::VectorXd predict_proba(const Eigen::MatrixXd& x) const = 0;
  // labels are indexed by bar, like the rows of rows.source.
  virtual Status fit_rows(const RowSelection& rows, const std::vector<double>& labels);
  // One probability per selected row, in range order.
  virtual Eigen::VectorXd predict_proba_rows(const RowSelection& rows) const;
  // Everything needed to predict again: written into artifacts.
  virtual nlohmann::json to_json() const = 0;
  // to_json() for an artifact at `artifact_path`: a model that keeps part of
  // itself in a file of its own (XgbModel: XGBoost's JSON model) writes it
  // beside the artifact first and names it in the JSON.
  virtual Result<nlohmann::json> save_beside(const std::filesystem::path& artifact_path) const {
    (void)artifact_path;
    return to_json();
  }
};

}  // namespace nightshift::trainer
