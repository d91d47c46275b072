#include "config/search_space.h"

#include <algorithm>
#include <cmath>

#include "config/config_reader.h"

namespace nightshift::config {
namespace {

ParamSpace log_float(double low, double high, std::vector<double> values) {
  return ParamSpace{"float", low, high, true, std::move(values)};
}

ModelSpace logistic_space(bool with_l1_ratio) {
  ModelSpace space{{"C", log_float(1e-3, 100, {0.01, 0.1, 0.3, 1, 3, 10})}};
  if (with_l1_ratio) space["l1_ratio"] = ParamSpace{"float", 0, 1, false, {0.1, 0.5, 0.9}};
  return space;
}

std::vector<std::string> logistic_params(bool with_l1_ratio) {
  std::vector<std::string> params{"C", "tol", "max_iter"};
  if (with_l1_ratio) params.push_back("l1_ratio");
  return params;
}

// Gradient-boosted trees (stages/trainer/xgb_model.h). n_rounds is a cap:
// early stopping on the inner validation tail picks the rounds kept.
ModelSpace xgb_space() {
  return {
      {"eta", log_float(0.01, 0.3, {0.03, 0.1, 0.3})},
      {"max_depth", ParamSpace{"int", 1, 8, false, {2, 3, 5}}},
      {"min_child_weight", log_float(0.1, 100, {1, 10})},
      {"subsample", ParamSpace{"float", 0.5, 1, false, {0.8}}},
      {"colsample_bytree", ParamSpace{"float", 0.5, 1, false, {0.8}}},
      {"lambda", log_float(0.01, 100, {1})},
      {"alpha", log_float(0.001, 10, {0.001})},
      {"n_rounds", ParamSpace{"int", 20, 400, false, {100, 300}}},
  };
}

const std::vector<std::string> kXgbParams = {"eta",    "max_depth", "min_child_weight", "subsample",
                                             "colsample_bytree", "lambda", "alpha", "n_rounds",
                                             "early_stopping_rounds"};

void check_space(ConfigReader& r, const std::string& name, const ParamSpace& p) {
  const char* key = name.c_str();
  if (p.type == "categorical") {
    if (p.values.empty()) r.error(key, "a categorical parameter needs at least one of `values`");
    return;
  }
  if (!(p.low < p.high)) r.error(key, "low must be below high");
  if (p.log && p.low <= 0) r.error(key, "a log-scaled range needs low > 0");
  if (p.type == "int" && (p.low != std::floor(p.low) || p.high != std::floor(p.high))) {
    r.error(key, "an int parameter needs whole low and high");
  }
  for (double v : p.values) {
    if (v < p.low || v > p.high) {
      r.error(key, "grid value " + std::to_string(v) + " is outside [low, high]");
      return;
    }
  }
}

void read_param(ConfigReader r, ParamSpace& p) {
  r.choice("type", p.type, {"float", "int", "categorical"});
  r.field("low", p.low, -1e12, 1e12);
  r.field("high", p.high, -1e12, 1e12);
  r.field("log", p.log);
  r.list("values", p.values, -1e12, 1e12);
  r.finish();
}

std::string unknown_name_text(const char* noun, const std::string& name,
                              const std::vector<std::string>& known) {
  std::string nearest = closest_name(name, known);
  std::string all;
  for (const auto& n : known) all += (all.empty() ? "" : ", ") + n;
  return std::string("unknown ") + noun + " '" + name + "' (" +
         (nearest.empty() ? "" : "did you mean '" + nearest + "'? ") + "known: " + all + ")";
}

}  // namespace

const std::vector<ModelFamily>& model_families() {
  static const std::vector<ModelFamily> families = {
      {"logreg_l2", logistic_params(false), {{"C", 1.0}}, logistic_space(false)},
      {"logreg_l1", logistic_params(false), {{"C", 1.0}}, logistic_space(false)},
      {"logreg_enet", logistic_params(true), {{"C", 1.0}, {"l1_ratio", 0.5}}, logistic_space(true)},
      {"xgb", kXgbParams,
       {{"eta", 0.1}, {"max_depth", 3}, {"min_child_weight", 1}, {"subsample", 0.8},
        {"colsample_bytree", 0.8}, {"lambda", 1}, {"alpha", 0.001}, {"n_rounds", 200}},
       xgb_space()},
  };
  return families;
}

const ModelFamily* find_model_family(const std::string& name) {
  for (const auto& family : model_families()) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& family : model_families()) names.push_back(family.name);
  return names;
}

std::map<std::string, ModelSpace> default_search_spaces() {
  std::map<std::string, ModelSpace> spaces;
  for (const auto& family : model_families()) spaces[family.name] = family.space;
  return spaces;
}

std::vector<double> grid_points(const ParamSpace& space) {
  std::vector<double> points = space.values;
  if (points.empty() && space.type != "categorical") {
    constexpr int kPoints = 5;
    for (int i = 0; i < kPoints; ++i) {
      double u = static_cast<double>(i) / (kPoints - 1);
      double v = space.log ? std::exp(std::log(space.low) + u * (std::log(space.high) - std::log(space.low)))
                           : space.low + u * (space.high - space.low);
      points.push_back(space.type == "int" ? std::round(v) : v);
    }
  }
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  return points;
}

void read_search(ConfigReader& r, std::map<std::string, ModelSpace>& spaces) {
  std::vector<std::string> held;
  for (const auto& [model, space] : spaces) held.push_back(model);
  ConfigReader search = r.section("search");
  for (auto& [model, ignored] : r.entries("search", held, "model")) {
    const bool placeholder = model.front() == '<';
    const ModelFamily* family = find_model_family(model);
    if (!placeholder && family == nullptr) {
      search.key_error(model.c_str(), unknown_name_text("model", model, model_names()));
      continue;
    }
    ModelSpace& space = spaces[model];
    std::vector<std::string> held_params;
    for (const auto& [param, p] : space) held_params.push_back(param);
    ConfigReader params = search.section(model.c_str());
    for (auto& [param, param_reader] : search.entries(model.c_str(), held_params, "param")) {
      if (!placeholder && std::find(family->params.begin(), family->params.end(), param) ==
                              family->params.end()) {
        params.key_error(param.c_str(), unknown_name_text("parameter", param, family->params) +
                                        " of model " + model);
        continue;
      }
      ParamSpace& p = space[param];
      read_param(param_reader, p);
      if (!placeholder) check_space(params, param, p);
    }
    if (placeholder) spaces.erase(model);
  }
}

}  // namespace nightshift::config
