#include "stages/trainer/artifact.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/config.h"
#include "stages/trainer/model_registry.h"

namespace nightshift::trainer {
namespace {

using nlohmann::json;

std::vector<double> to_vector(const Eigen::VectorXd& v) { return {v.data(), v.data() + v.size()}; }
Eigen::VectorXd to_eigen(std::vector<double> v) {
  return Eigen::Map<Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

json spec_to_json(const FeatureSpec& s) {
  return {{"name", s.name}, {"version", s.version}, {"return_lags", s.return_lags},
          {"lagged_returns", s.lagged_returns}, {"volatility_windows", s.volatility_windows},
          {"rsi_period", s.rsi_period}, {"macd", {s.macd_fast, s.macd_slow, s.macd_signal}},
          {"atr_period", s.atr_period}, {"bollinger_window", s.bollinger_window},
          {"volume_window", s.volume_window}, {"calendar", s.calendar}};
}

FeatureSpec spec_from_json(const json& j) {
  FeatureSpec s;
  s.name = j.at("name").get<std::string>();
  s.version = j.at("version").get<int>();
  s.return_lags = j.at("return_lags").get<std::vector<int>>();
  s.lagged_returns = j.at("lagged_returns").get<int>();
  s.volatility_windows = j.at("volatility_windows").get<std::vector<int>>();
  s.rsi_period = j.at("rsi_period").get<int>();
  auto macd = j.at("macd").get<std::vector<int>>();
  if (macd.size() != 3) throw std::runtime_error("feature_spec.macd needs 3 periods");
  s.macd_fast = macd[0], s.macd_slow = macd[1], s.macd_signal = macd[2];
  s.atr_period = j.at("atr_period").get<int>();
  s.bollinger_window = j.at("bollinger_window").get<int>();
  s.volume_window = j.at("volume_window").get<int>();
  s.calendar = j.at("calendar").get<bool>();
  return s;
}

json info_to_json(const ArtifactInfo& i) {
  return {{"run", i.run}, {"study", i.study}, {"source", i.source}, {"symbol", i.symbol},
          {"timeframe", i.timeframe}, {"horizon", i.horizon}, {"data_fingerprint", i.data_fingerprint},
          {"metrics", i.metrics}, {"gates", i.gates}, {"gates_passed", i.gates_passed},
          {"promotion", "decided over the run: models.promoted in the results database"},
          {"train_rows", i.train_rows}, {"holdout_rows", i.holdout_rows}};
}

ArtifactInfo info_from_json(const json& j) {
  ArtifactInfo i;
  i.run = j.at("run").get<std::string>();
  i.study = j.at("study").get<std::string>();
  i.source = j.at("source").get<std::string>();
  i.symbol = j.at("symbol").get<std::string>();
  i.timeframe = j.at("timeframe").get<std::string>();
  i.horizon = j.at("horizon").get<std::size_t>();
  i.data_fingerprint = j.at("data_fingerprint").get<std::string>();
  i.metrics = j.at("metrics").get<std::map<std::string, double>>();
  i.gates = j.at("gates").get<std::map<std::string, std::string>>();
  // Artifacts written before run-wide promotion called it "promoted".
  i.gates_passed = (j.contains("gates_passed") ? j.at("gates_passed") : j.at("promoted")).get<bool>();
  i.train_rows = j.at("train_rows").get<std::size_t>();
  i.holdout_rows = j.at("holdout_rows").get<std::size_t>();
  return i;
}

// Keeps a path segment a single, harmless file name.
std::string file_segment(const std::string& raw) {
  std::string out;
  for (char c : raw) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  return out.empty() ? "_" : out;
}

}  // namespace

std::string code_version() { return std::string("nightshift ") + NIGHTSHIFT_VERSION; }

Result<std::string> write_artifact(const std::string& dir, const Artifact& a) {
  namespace fs = std::filesystem;
  fs::path folder = fs::path(dir) / file_segment(a.info.run);
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) return make_error("artifact: cannot create " + folder.string() + ": " + ec.message());
  fs::path path = folder / (file_segment(a.info.study) + ".json");
  auto model = a.model->save_beside(path);  // before the artifact that names its files
  if (!model) return make_error("artifact: " + model.error());
  json j = {{"format", "nightshift.model"}, {"format_version", a.format_version},
            {"code_version", a.code_version}, {"info", info_to_json(a.info)},
            {"feature_spec", spec_to_json(a.spec)}, {"feature_names", a.feature_names},
            {"scaler", {{"mean", to_vector(a.scaler.mean)}, {"scale", to_vector(a.scaler.scale)}}},
            {"model", std::move(*model)}};
  fs::path temp = path.string() + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(temp);
    out << j.dump(1) << "\n";
    if (!out.good()) return make_error("artifact: cannot write " + temp.string());
  }
  fs::rename(temp, path, ec);
  if (ec) return make_error("artifact: cannot rename to " + path.string() + ": " + ec.message());
  return path.string();
}

Result<Artifact> read_artifact(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error("artifact: cannot open " + path);
  try {
    json j = json::parse(in);
    if (j.value("format", "") != "nightshift.model") return make_error(path + ": not a nightshift model artifact");
    Artifact a;
    a.format_version = j.at("format_version").get<int>();
    if (a.format_version != kArtifactFormatVersion) {
      return make_error(path + ": artifact format version " + std::to_string(a.format_version) +
                        " is not supported (this build reads " + std::to_string(kArtifactFormatVersion) + ")");
    }
    a.code_version = j.at("code_version").get<std::string>();
    a.info = info_from_json(j.at("info"));
    a.spec = spec_from_json(j.at("feature_spec"));
    a.feature_names = j.at("feature_names").get<std::vector<std::string>>();
    a.scaler.mean = to_eigen(j.at("scaler").at("mean").get<std::vector<double>>());
    a.scaler.scale = to_eigen(j.at("scaler").at("scale").get<std::vector<double>>());
    auto model = load_model(j.at("model"), std::filesystem::path(path).parent_path());
    if (!model) return make_error(path + ": " + model.error());
    a.model = std::move(*model);
    return a;
  } catch (const std::exception& e) {
    return make_error(path + ": malformed artifact: " + e.what());
  }
}

Result<std::vector<Prediction>> predict_latest(const Artifact& artifact, const Bars& bars,
                                               std::size_t count) {
  int tf_minutes = config::timeframe_minutes(artifact.info.timeframe);
  FeatureMatrix features = compute_features(bars, artifact.spec, tf_minutes);
  if (features.names != artifact.feature_names) {
    return make_error("features computed for " + artifact.info.timeframe +
                      " do not match the artifact's feature list");
  }
  if (features.rows() <= features.first_valid_row) {
    return make_error("too few bars to score: " + std::to_string(bars.size()) + " bars, warm-up needs " +
                      std::to_string(features.first_valid_row + 1));
  }
  std::size_t n = std::min(count, features.rows() - features.first_valid_row);
  auto first = static_cast<Eigen::Index>(features.rows() - n);
  // As the model was scored in its folds: the rows in place, the model
  // applying the scaler (logistic) or reading raw values (xgb).
  const std::vector<RowRange> latest = {RowRange{static_cast<std::size_t>(first), features.rows()}};
  Eigen::VectorXd p = artifact.model->predict_proba_rows(RowSelection{features.values, latest, artifact.scaler});
  std::vector<Prediction> out;
  for (Eigen::Index i = 0; i < p.size(); ++i) {
    out.push_back({bars.ts[static_cast<std::size_t>(first + i)], p(i)});
  }
  return out;
}

}  // namespace nightshift::trainer
