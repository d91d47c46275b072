// Model artifacts: one versioned JSON file per final fit, holding everything
// `nightshift predict` needs to score new bars the way the model was trained
// (feature spec, scaler, model parameters) plus what it was judged on
// (holdout metrics, gates, data fingerprint, code version).
//
// Files are written to a temporary name and renamed, so a reader never sees
// half an artifact.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "schema/data_messages.h"
#include "schema/result.h"
#include "stages/trainer/features.h"
#include "stages/trainer/model.h"
#include "stages/trainer/standardizer.h"

namespace nightshift::trainer {

inline constexpr int kArtifactFormatVersion = 1;

struct ArtifactInfo {
  std::string run, study;
  std::string source, symbol, timeframe;
  std::size_t horizon = 1;
  std::string data_fingerprint;
  std::map<std::string, double> metrics;      // holdout metrics
  std::map<std::string, std::string> gates;   // gate -> verdict
  // Every per-study gate passed. Whether the model was promoted is decided
  // over the whole run afterwards and lives in the results database
  // (models.promoted, .q_value, .decision), not in the artifact.
  bool gates_passed = false;
  std::size_t train_rows = 0, holdout_rows = 0;
};

struct Artifact {
  ArtifactInfo info;
  FeatureSpec spec;
  std::vector<std::string> feature_names;
  Standardizer scaler;
  std::unique_ptr<Model> model;
  std::string code_version;
  int format_version = kArtifactFormatVersion;
};

// Writes <dir>/<run>/<study>.json and returns that path.
Result<std::string> write_artifact(const std::string& dir, const Artifact& artifact);
Result<Artifact> read_artifact(const std::string& path);

// Probability that the label is 1 for each of the last `count` bars (fewer
// if the series is shorter after warm-up).
struct Prediction {
  int64_t ts = 0;
  double probability = 0;
};
Result<std::vector<Prediction>> predict_latest(const Artifact& artifact, const Bars& bars,
                                               std::size_t count);

std::string code_version();

}  // namespace nightshift::trainer
