#include "stages/trainer/xgb_model.h"

#include <unistd.h>
#include <xgboost/c_api.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>

namespace nightshift::trainer {
namespace {

// XGBoost's error text is its log line plus a stack trace: keep the line.
Status check(int rc, const char* what) {
  if (rc == 0) return Status::success();
  std::string text = XGBGetLastError();
  text = text.substr(0, text.find('\n'));
  return make_error(std::string("xgb: ") + what + ": " + text);
}

struct MatrixDeleter {
  void operator()(void* h) const { XGDMatrixFree(h); }
};
using Matrix = std::unique_ptr<void, MatrixDeleter>;

Result<Matrix> make_matrix(const std::vector<float>& x, std::size_t rows, std::size_t cols,
                           const std::vector<float>* labels) {
  DMatrixHandle h = nullptr;
  if (auto st = check(XGDMatrixCreateFromMat_omp(x.data(), rows, cols,
                                                 std::numeric_limits<float>::quiet_NaN(), &h, 1),
                      "creating a DMatrix");
      !st) {
    return st.take_error();
  }
  Matrix m(h);
  if (labels != nullptr) {
    if (auto st = check(XGDMatrixSetFloatInfo(h, "label", labels->data(), rows), "setting labels"); !st) {
      return st.take_error();
    }
  }
  return m;
}

// XGBoost's integer parameters do not parse "3.0": whole numbers are
// written as integers, the rest in the shortest form that reads back.
std::string param_text(double v) {
  char buf[64];
  if (v == std::floor(v) && std::abs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", v);
  }
  return buf;
}

// "[12]\tval-logloss:0.6912" -> 0.6912: the value XGBoost's Python early
// stopping reads from the same string.
double eval_value(const char* text) {
  const char* colon = std::strrchr(text, ':');
  return colon == nullptr ? NAN : std::strtod(colon + 1, nullptr);
}

std::vector<float> gather_raw(const RowSelection& rows, std::vector<std::size_t>* bars) {
  const auto cols = static_cast<std::size_t>(rows.source.cols());
  std::vector<float> out;
  out.reserve(rows.rows() * cols);
  for (const auto& r : rows.ranges) {
    for (std::size_t t = r.begin; t < r.end; ++t) {
      for (std::size_t j = 0; j < cols; ++j) {
        out.push_back(static_cast<float>(rows.source(static_cast<Eigen::Index>(t), static_cast<Eigen::Index>(j))));
      }
      if (bars != nullptr) bars->push_back(t);
    }
  }
  return out;
}

std::vector<float> to_floats(const Eigen::MatrixXd& x) {
  std::vector<float> out;
  out.reserve(static_cast<std::size_t>(x.size()));
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    for (Eigen::Index j = 0; j < x.cols(); ++j) out.push_back(static_cast<float>(x(i, j)));
  }
  return out;
}

}  // namespace

struct XgbModel::Booster {
  BoosterHandle handle = nullptr;
  ~Booster() {
    if (handle != nullptr) XGBoosterFree(handle);
  }
};

Result<XgbOptions> xgb_options(const std::map<std::string, double>& params, std::size_t horizon) {
  XgbOptions o;
  o.horizon = horizon;
  for (const auto& [key, value] : params) {
    if (!std::isfinite(value)) return make_error("model xgb: " + key + " is not finite");
    if (key == "eta") o.eta = value;
    else if (key == "max_depth") o.max_depth = static_cast<int>(value);
    else if (key == "min_child_weight") o.min_child_weight = value;
    else if (key == "subsample") o.subsample = value;
    else if (key == "colsample_bytree") o.colsample_bytree = value;
    else if (key == "lambda") o.lambda = value;
    else if (key == "alpha") o.alpha = value;
    else if (key == "n_rounds") o.n_rounds = static_cast<int>(value);
    else if (key == "early_stopping_rounds") o.early_stopping_rounds = static_cast<int>(value);
    else {
      return make_error("model xgb: unknown hyperparameter '" + key +
                        "' (known: eta, max_depth, min_child_weight, subsample, colsample_bytree, "
                        "lambda, alpha, n_rounds, early_stopping_rounds)");
    }
    if ((key == "max_depth" || key == "n_rounds" || key == "early_stopping_rounds") &&
        value != std::floor(value)) {
      return make_error("model xgb: " + key + " must be a whole number");
    }
  }
  if (o.eta <= 0 || o.eta > 1) return make_error("model xgb: eta must be in (0, 1]");
  if (o.max_depth < 1 || o.max_depth > 16) return make_error("model xgb: max_depth must be in [1, 16]");
  if (o.min_child_weight < 0) return make_error("model xgb: min_child_weight must be >= 0");
  if (o.subsample <= 0 || o.subsample > 1) return make_error("model xgb: subsample must be in (0, 1]");
  if (o.colsample_bytree <= 0 || o.colsample_bytree > 1) {
    return make_error("model xgb: colsample_bytree must be in (0, 1]");
  }
  if (o.lambda < 0 || o.alpha < 0) return make_error("model xgb: lambda and alpha must be >= 0");
  if (o.n_rounds < 1 || o.n_rounds > 100'000) return make_error("model xgb: n_rounds must be in [1, 100000]");
  if (o.early_stopping_rounds < 1) return make_error("model xgb: early_stopping_rounds must be >= 1");
  return o;
}

XgbModel::XgbModel(XgbOptions options) : options_(options) {}
XgbModel::~XgbModel() = default;
XgbModel::XgbModel(XgbModel&&) noexcept = default;
XgbModel& XgbModel::operator=(XgbModel&&) noexcept = default;

Status XgbModel::fit(Eigen::Ref<const Eigen::MatrixXd> x, Eigen::Ref<const Eigen::VectorXd> y) {
  std::vector<std::size_t> bars(static_cast<std::size_t>(x.rows()));
  for (std::size_t i = 0; i < bars.size(); ++i) bars[i] = i;
  std::vector<float> labels(y.data(), y.data() + y.size());
  return train(to_floats(x), labels, static_cast<std::size_t>(x.cols()), bars);
}

Status XgbModel::fit_rows(const RowSelection& rows, const std::vector<double>& labels) {
  std::vector<std::size_t> bars;
  std::vector<float> x = gather_raw(rows, &bars);
  std::vector<float> y;
  y.reserve(bars.size());
  for (std::size_t t : bars) y.push_back(static_cast<float>(labels[t]));
  return train(x, y, static_cast<std::size_t>(rows.source.cols()), bars);
}

Status XgbModel::train(const std::vector<float>& x, const std::vector<float>& y, std::size_t cols,
                       const std::vector<std::size_t>& bars) {
  const std::size_t n = bars.size();
  const std::size_t tail = n / kXgbValidationDivisor;
  const std::size_t tail_first = n - tail;
  std::size_t fit_rows = 0;  // rows before the tail, purged: t + H < first tail bar
  if (tail > 0) {
    while (fit_rows < tail_first && bars[fit_rows] + options_.horizon < bars[tail_first]) ++fit_rows;
  }
  if (tail < kXgbMinRows || fit_rows < kXgbMinRows) {
    return make_error("xgb: too few training rows for the inner validation tail (" + std::to_string(n) +
                      " rows: " + std::to_string(fit_rows) + " to fit, " + std::to_string(tail) +
                      " to validate; each needs " + std::to_string(kXgbMinRows) + ")");
  }
  std::vector<float> fit_x(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(fit_rows * cols));
  std::vector<float> fit_y(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(fit_rows));
  std::vector<float> val_x(x.begin() + static_cast<std::ptrdiff_t>(tail_first * cols), x.end());
  std::vector<float> val_y(y.begin() + static_cast<std::ptrdiff_t>(tail_first), y.end());
  auto dtrain = make_matrix(fit_x, fit_rows, cols, &fit_y);
  if (!dtrain) return dtrain.take_error();
  auto dval = make_matrix(val_x, tail, cols, &val_y);
  if (!dval) return dval.take_error();

  auto booster = std::make_unique<Booster>();
  DMatrixHandle cache[2] = {dtrain->get(), dval->get()};
  if (auto st = check(XGBoosterCreate(cache, 2, &booster->handle), "creating a booster"); !st) return st;
  const std::pair<const char*, std::string> params[] = {
      {"objective", "binary:logistic"},
      {"tree_method", "hist"},
      {"nthread", "1"},
      {"seed", param_text(kXgbSeed)},
      {"verbosity", "0"},
      {"eval_metric", "logloss"},
      {"eta", param_text(options_.eta)},
      {"max_depth", param_text(options_.max_depth)},
      {"min_child_weight", param_text(options_.min_child_weight)},
      {"subsample", param_text(options_.subsample)},
      {"colsample_bytree", param_text(options_.colsample_bytree)},
      {"lambda", param_text(options_.lambda)},
      {"alpha", param_text(options_.alpha)},
  };
  for (const auto& [key, value] : params) {
    if (auto st = check(XGBoosterSetParam(booster->handle, key, value.c_str()), key); !st) return st;
  }
  DMatrixHandle evals[1] = {dval->get()};
  const char* names[1] = {"val"};
  double best = NAN;
  int best_round = 0, stale = 0, round = 0;
  for (; round < options_.n_rounds; ++round) {
    if (auto st = check(XGBoosterUpdateOneIter(booster->handle, round, dtrain->get()), "boosting"); !st) return st;
    const char* text = nullptr;
    if (auto st = check(XGBoosterEvalOneIter(booster->handle, round, evals, names, 1, &text), "evaluating");
        !st) {
      return st;
    }
    const double score = eval_value(text);
    if (round == 0 || best > score) {
      best = score;
      best_round = round;
      stale = 0;
    } else if (++stale >= options_.early_stopping_rounds) {
      ++round;
      break;
    }
  }
  rounds_run_ = round;
  best_iteration_ = best_round;
  auto kept = std::make_unique<Booster>();
  if (auto st = check(XGBoosterSlice(booster->handle, 0, best_round + 1, 1, &kept->handle), "slicing");
      !st) {
    return st;
  }
  booster_ = std::move(kept);
  features_ = cols;
  return Status::success();
}

Eigen::VectorXd XgbModel::predict(const std::vector<float>& x, std::size_t rows, std::size_t cols) const {
  Eigen::VectorXd out = Eigen::VectorXd::Constant(static_cast<Eigen::Index>(rows), NAN);
  if (!booster_ || rows == 0) return out;
  auto m = make_matrix(x, rows, cols, nullptr);
  if (!m) return out;
  const char* config =
      R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  if (XGBoosterPredictFromDMatrix(booster_->handle, m->get(), config, &shape, &dim, &result) != 0) return out;
  for (std::size_t i = 0; i < rows; ++i) out(static_cast<Eigen::Index>(i)) = result[i];
  return out;
}

Eigen::VectorXd XgbModel::predict_proba(const Eigen::MatrixXd& x) const {
  return predict(to_floats(x), static_cast<std::size_t>(x.rows()), static_cast<std::size_t>(x.cols()));
}

Eigen::VectorXd XgbModel::predict_proba_rows(const RowSelection& rows) const {
  return predict(gather_raw(rows, nullptr), rows.rows(), static_cast<std::size_t>(rows.source.cols()));
}

nlohmann::json XgbModel::to_json() const {
  return {{"family", "xgb"},
          {"name", "xgb"},
          {"eta", options_.eta},
          {"max_depth", options_.max_depth},
          {"min_child_weight", options_.min_child_weight},
          {"subsample", options_.subsample},
          {"colsample_bytree", options_.colsample_bytree},
          {"lambda", options_.lambda},
          {"alpha", options_.alpha},
          {"n_rounds", options_.n_rounds},
          {"early_stopping_rounds", options_.early_stopping_rounds},
          {"horizon", options_.horizon},
          {"seed", kXgbSeed},
          {"best_iteration", best_iteration_},
          {"rounds_run", rounds_run_},
          {"features", features_},
          {"inputs", "raw feature values (the scaler is not applied)"}};
}

// The booster in XGBoost's own JSON format, <artifact stem>.xgb.json beside
// the artifact, written to a temporary name and renamed before the
// artifact itself is, so an artifact never names a missing booster.
Result<nlohmann::json> XgbModel::save_beside(const std::filesystem::path& artifact_path) const {
  if (!booster_) return make_error("xgb: no fitted booster to save");
  bst_ulong len = 0;
  const char* buf = nullptr;
  if (auto st = check(XGBoosterSaveModelToBuffer(booster_->handle, R"({"format": "json"})", &len, &buf),
                      "saving the booster");
      !st) {
    return st.take_error();
  }
  std::filesystem::path file = artifact_path;
  file.replace_extension(".xgb.json");
  std::filesystem::path temp = file.string() + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(temp, std::ios::binary);
    out.write(buf, static_cast<std::streamsize>(len));
    if (!out.good()) return make_error("xgb: cannot write " + temp.string());
  }
  std::error_code ec;
  std::filesystem::rename(temp, file, ec);
  if (ec) return make_error("xgb: cannot rename to " + file.string() + ": " + ec.message());
  nlohmann::json j = to_json();
  j["booster_file"] = file.filename().string();
  j["booster_format"] = "xgboost json";
  return j;
}

Result<XgbModel> XgbModel::load(const nlohmann::json& j, const std::filesystem::path& folder) {
  try {
    std::map<std::string, double> params;
    for (const char* key : {"eta", "max_depth", "min_child_weight", "subsample", "colsample_bytree",
                            "lambda", "alpha", "n_rounds", "early_stopping_rounds"}) {
      params[key] = j.at(key).get<double>();
    }
    auto options = xgb_options(params, j.at("horizon").get<std::size_t>());
    if (!options) return options.take_error();
    XgbModel model(*options);
    model.best_iteration_ = j.at("best_iteration").get<int>();
    model.rounds_run_ = j.at("rounds_run").get<int>();
    model.features_ = j.at("features").get<std::size_t>();
    const std::string name = j.at("booster_file").get<std::string>();
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
      return make_error("xgb: booster_file must be a file name beside the artifact");
    }
    const std::filesystem::path file = folder / name;
    if (!std::filesystem::is_regular_file(file)) {
      return make_error("xgb: loading the booster: " + file.string() + " is missing");
    }
    auto booster = std::make_unique<Booster>();
    if (auto st = check(XGBoosterCreate(nullptr, 0, &booster->handle), "creating a booster"); !st) {
      return st.take_error();
    }
    if (auto st = check(XGBoosterLoadModel(booster->handle, file.c_str()), "loading the booster"); !st) {
      return make_error(st.error() + " (" + file.string() + ")");
    }
    if (auto st = check(XGBoosterSetParam(booster->handle, "nthread", "1"), "nthread"); !st) {
      return st.take_error();
    }
    model.booster_ = std::move(booster);
    return model;
  } catch (const nlohmann::json::exception& e) {
    return make_error(std::string("xgb model: ") + e.what());
  }
}

}  // namespace nightshift::trainer
