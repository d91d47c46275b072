// The model interface. A trial or final fit only talks to Model, so another
// family (e.g. gradient-boosted trees through a library) is one more class
// registered in model_registry.cc; the worker loop does not change.
//
// Inputs are standardised features (rows x features) and 0/1 labels.
// fit() may start from the previous solution (warm start across folds); the
// result must not depend on it beyond solver tolerance.
#pragma once

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include <string>

#include "schema/result.h"

namespace nightshift::trainer {

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string name() const = 0;
  virtual Status fit(Eigen::Ref<const Eigen::MatrixXd> x, Eigen::Ref<const Eigen::VectorXd> y) = 0;
  // P(label = 1) per row.
  virtual Eigen::VectorXd predict_proba(const Eigen::MatrixXd& x) const = 0;
  // Everything needed to predict again: written into artifacts.
  virtual nlohmann::json to_json() const = 0;
};

}  // namespace nightshift::trainer
