#include "stages/trainer/model_registry.h"

#include <cmath>

#include "stages/trainer/logistic_model.h"
#include "stages/trainer/xgb_model.h"

namespace nightshift::trainer {
namespace {

double param(const std::map<std::string, double>& params, const std::string& key, double fallback) {
  auto it = params.find(key);
  return it == params.end() ? fallback : it->second;
}

Result<LogisticOptions> logistic_options(const std::string& name,
                                         const std::map<std::string, double>& params) {
  for (const auto& [key, value] : params) {
    if (key != "C" && key != "l1_ratio" && key != "tol" && key != "max_iter") {
      return make_error("model " + name + ": unknown hyperparameter '" + key +
                        "' (known: C, l1_ratio, tol, max_iter)");
    }
    if (!std::isfinite(value)) return make_error("model " + name + ": " + key + " is not finite");
  }
  LogisticOptions o;
  o.c = param(params, "C", 1.0);
  o.tol = param(params, "tol", 1e-6);
  o.max_iter = static_cast<int>(param(params, "max_iter", 100));
  if (name == "logreg_l2") o.l1_ratio = 0;
  if (name == "logreg_l1") o.l1_ratio = 1;
  if (name == "logreg_enet") o.l1_ratio = param(params, "l1_ratio", 0.5);
  if (name != "logreg_enet" && params.count("l1_ratio")) {
    return make_error("model " + name + ": l1_ratio applies to logreg_enet only");
  }
  if (o.c <= 0) return make_error("model " + name + ": C must be > 0");
  if (o.l1_ratio < 0 || o.l1_ratio > 1) return make_error("model " + name + ": l1_ratio must be in [0, 1]");
  if (o.tol <= 0 || o.max_iter < 1) return make_error("model " + name + ": tol and max_iter must be > 0");
  return o;
}

}  // namespace

Result<std::unique_ptr<Model>> make_model(const std::string& name,
                                          const std::map<std::string, double>& params,
                                          std::size_t horizon) {
  if (name == "logreg_l2" || name == "logreg_l1" || name == "logreg_enet") {
    auto options = logistic_options(name, params);
    if (!options) return options.take_error();
    return std::unique_ptr<Model>(std::make_unique<LogisticModel>(name, *options));
  }
  if (name == "xgb") {
    auto options = xgb_options(params, horizon);
    if (!options) return options.take_error();
    return std::unique_ptr<Model>(std::make_unique<XgbModel>(*options));
  }
  return make_error("unknown model '" + name + "' (known: logreg_l2, logreg_l1, logreg_enet, xgb)");
}

Result<std::unique_ptr<Model>> load_model(const nlohmann::json& j, const std::filesystem::path& folder) {
  if (j.is_object() && j.value("family", "") == "xgb") {
    auto model = XgbModel::load(j, folder);
    if (!model) return model.take_error();
    return std::unique_ptr<Model>(std::make_unique<XgbModel>(std::move(*model)));
  }
  if (!j.is_object() || j.value("family", "") != "logistic") {
    return make_error("artifact model: unknown or missing family");
  }
  auto model = LogisticModel::from_json(j);
  if (!model) return model.take_error();
  return std::unique_ptr<Model>(std::make_unique<LogisticModel>(std::move(*model)));
}

}  // namespace nightshift::trainer
