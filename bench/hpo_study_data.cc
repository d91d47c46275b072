// hpo_study_data: writes what one study of a stored night trained on, for
// bench/hpo_vs_optuna's Optuna side, so both searches see the same rows.
//
// Usage: hpo_study_data CONFIG RUN OUTDIR
//
// For every study of RUN (its final fit job in the run's checkpoint: symbol,
// timeframe, range, horizon, model, CV plan) it reads the bars from the
// night's market cache (config.storage.market_db), computes the features
// and labels exactly as the worker does, and the holdout split and CV folds
// exactly as a trial does (trainer::trial_spec_for, split_holdout,
// make_folds). It writes OUTDIR/<study>.f64 (the feature matrix, row-major
// float64, bars x features) and OUTDIR/<study>.json (labels, rows, columns,
// first valid row, folds as train/test row ranges, the final fit's training
// range and the holdout range, model, horizon).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "config/config.h"
#include "schema/results_store.h"
#include "stages/fetcher/market_data.h"
#include "stages/trainer/features.h"
#include "stages/trainer/folds.h"
#include "stages/trainer/job_runner.h"
#include "stages/trainer/labels.h"

namespace ns = nightshift;
namespace nt = nightshift::trainer;

namespace {

nlohmann::json ranges_json(const std::vector<nt::RowRange>& ranges) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : ranges) out.push_back({r.begin, r.end});
  return out;
}

int write_study(const ns::Job& job, ns::fetcher::DatasetStore& store, const std::string& outdir) {
  ns::fetcher::DatasetQuery query{job.source, job.symbol, job.timeframe, job.start_ts, job.end_ts};
  auto answer = store.get(query);
  if (!answer) {
    std::cerr << job.key.study << ": bars: " << answer.error() << "\n";
    return 1;
  }
  if (answer->fetches != 0) {
    std::cerr << job.key.study << ": bars were not all in the night's market cache\n";
    return 1;
  }
  auto spec = nt::trial_spec_for(job);
  if (!spec) {
    std::cerr << job.key.study << ": " << spec.error() << "\n";
    return 1;
  }
  const ns::Bars& bars = answer->bars;
  nt::FeatureMatrix features = nt::compute_features(bars, nt::default_feature_spec(),
                                                    ns::config::timeframe_minutes(job.timeframe));
  std::vector<double> labels = nt::make_labels(bars.close, job.horizon);
  auto split = nt::split_holdout(features.first_valid_row, labels.size(), spec->holdout_fraction,
                                 spec->horizon);
  if (!split) {
    std::cerr << job.key.study << ": " << split.error() << "\n";
    return 1;
  }
  nt::CvSpec cv = spec->cv;
  cv.horizon = spec->horizon;
  auto folds = nt::make_folds(split->first_valid, split->validation_end, cv);
  if (!folds) {
    std::cerr << job.key.study << ": " << folds.error() << "\n";
    return 1;
  }
  nlohmann::json meta;
  meta["study"] = job.key.study;
  meta["model"] = job.model;
  meta["horizon"] = job.horizon;
  meta["rows"] = features.rows();
  meta["cols"] = features.cols();
  meta["feature_names"] = features.names;
  meta["labels"] = labels;
  meta["first_valid"] = split->first_valid;
  meta["final_train"] = {split->first_valid, split->validation_end};
  meta["holdout"] = {split->holdout_begin, split->holdout_end};
  nlohmann::json fold_list = nlohmann::json::array();
  for (const auto& f : *folds) {
    fold_list.push_back({{"train", ranges_json(f.train)}, {"test", {f.test.begin, f.test.end}}});
  }
  meta["folds"] = fold_list;
  const std::filesystem::path base = std::filesystem::path(outdir) / job.key.study;
  std::ofstream(base.string() + ".json") << meta.dump();
  // Row-major: Eigen's default is column-major, so write row by row.
  std::ofstream values(base.string() + ".f64", std::ios::binary);
  for (Eigen::Index r = 0; r < features.values.rows(); ++r) {
    for (Eigen::Index c = 0; c < features.values.cols(); ++c) {
      double v = features.values(r, c);
      values.write(reinterpret_cast<const char*>(&v), sizeof v);
    }
  }
  return values ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: hpo_study_data CONFIG RUN OUTDIR\n";
    return 2;
  }
  auto config = ns::config::load_config(argv[1]);
  if (!config) {
    std::cerr << config.error() << "\n";
    return 2;
  }
  auto db = ns::ResultsStore::open_read_only(config->storage.results_db);
  if (!db) {
    std::cerr << db.error() << "\n";
    return 1;
  }
  auto checkpoint = db->checkpoint(argv[2]);
  if (!checkpoint || !*checkpoint) {
    std::cerr << "run " << argv[2] << ": no checkpoint\n";
    return 1;
  }
  auto market = ns::fetcher::MarketData::open(*config, {});
  if (!market) {
    std::cerr << market.error() << "\n";
    return 1;
  }
  std::filesystem::create_directories(argv[3]);
  int status = 0;
  for (const ns::JobState& state : (*checkpoint)->jobs) {
    if (state.job.kind != ns::JobKind::final_fit) continue;
    status |= write_study(state.job, (*market)->store(), argv[3]);
  }
  return status;
}
