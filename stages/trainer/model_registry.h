// Model names to models: logreg_l2, logreg_l1, logreg_enet. Hyperparameters
// come from Job.params (C, l1_ratio, tol, max_iter); unknown names or bad
// values are errors that name the problem.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "stages/trainer/model.h"

namespace nightshift::trainer {

Result<std::unique_ptr<Model>> make_model(const std::string& name,
                                          const std::map<std::string, double>& params);

// Rebuilds a fitted model from Model::to_json() output.
Result<std::unique_ptr<Model>> load_model(const nlohmann::json& j);

}  // namespace nightshift::trainer
