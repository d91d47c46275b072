// Model names to models: logreg_l2, logreg_l1, logreg_enet (C, l1_ratio,
// tol, max_iter) and xgb (xgb_model.h). Hyperparameters come from
// Job.params; unknown names or bad values are errors that name the problem.
// `horizon` is the label horizon H (xgb purges its inner validation tail).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "stages/trainer/model.h"

namespace nightshift::trainer {

Result<std::unique_ptr<Model>> make_model(const std::string& name,
                                          const std::map<std::string, double>& params,
                                          std::size_t horizon = 1);

// Rebuilds a fitted model from Model::save_beside() output; `folder` holds
// the artifact (and an xgb model's booster file).
Result<std::unique_ptr<Model>> load_model(const nlohmann::json& j,
                                          const std::filesystem::path& folder = {});

}  // namespace nightshift::trainer
