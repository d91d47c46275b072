#include "stages/trainer/job_runner.h"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "stages/trainer/artifact.h"
#include "stages/trainer/labels.h"
#include "stages/trainer/model_registry.h"
#include "stages/trainer/promotion.h"

namespace nightshift::trainer {
namespace {

Status check_job(const Job& job) {
  if (job.horizon < 1) return make_error("horizon must be at least 1");
  if (config::timeframe_minutes(job.timeframe) == 0) return make_error("unknown timeframe '" + job.timeframe + "'");
  if (job.feature_spec && *job.feature_spec != default_feature_spec().id()) {
    return make_error(ErrorKind::invalid_input, "unknown feature spec '" + *job.feature_spec +
                                                    "' (known: " + default_feature_spec().id() + ")");
  }
  return Status::success();
}

Status check_bars(const Bars& bars) {
  std::size_t n = bars.size();
  if (!bars.columns_agree()) {
    return make_error("dataset columns have different lengths");
  }
  for (std::size_t t = 0; t < n; ++t) {
    if (!(bars.close[t] > 0) || !std::isfinite(bars.close[t]) || !std::isfinite(bars.high[t]) ||
        !std::isfinite(bars.low[t]) || !std::isfinite(bars.volume[t])) {
      return make_error("dataset has a non-finite or non-positive price at bar " + std::to_string(t));
    }
  }
  return Status::success();
}

std::shared_ptr<const FeatureMatrix> features_for(const Job& job, const std::string& fingerprint,
                                                  const Bars& bars, FeatureCache& cache, bool& hit) {
  const FeatureSpec spec = default_feature_spec();
  std::string key = FeatureCache::key(fingerprint, spec.id(), job.timeframe);
  auto cached = fingerprint.empty() ? nullptr : cache.find(key);
  hit = cached != nullptr;
  if (cached) return cached;
  auto computed = std::make_shared<const FeatureMatrix>(
      compute_features(bars, spec, config::timeframe_minutes(job.timeframe)));
  if (!fingerprint.empty()) cache.insert(key, computed);
  return computed;
}

void finish_final(const Job& job, const std::string& fingerprint, FinalFit& fit,
                  const FeatureMatrix& features, const config::Config& config, JobResult& result) {
  GateVerdict verdict = judge_gates(fit.holdout_metrics, config.promote_if);
  result.metrics = fit.holdout_metrics;
  result.gates = verdict.gates;
  result.promoted = verdict.passed;  // on the wire: "passed the gates"
  Artifact artifact;
  artifact.info = {job.key.run, job.key.study, job.source, job.symbol, job.timeframe, job.horizon,
                   fingerprint, fit.holdout_metrics, verdict.gates, verdict.passed,
                   fit.train_rows, fit.holdout_rows};
  artifact.feature_names = features.names;
  artifact.scaler = fit.scaler;
  artifact.model = std::move(fit.model);
  artifact.code_version = code_version();
  auto path = write_artifact(config.storage.artifacts_dir, artifact);
  if (!path) {
    result.status = ResultStatus::failed;
    result.reason = path.error();
    return;
  }
  result.artifact_path = *path;
}

}  // namespace

Result<TrialSpec> trial_spec_for(const Job& job) {
  TrialSpec spec;
  spec.horizon = job.horizon;
  spec.model = job.model;
  spec.params = job.params;
  if (job.kind == JobKind::trial) spec.prune = job.prune;
  const CvPlan& cv = job.cv;
  // The config reader's ranges (config/config.h): a valid config never
  // yields a job every worker rejects.
  if (cv.n_splits < config::kMinSplits || cv.n_splits > config::kMaxSplits) {
    return make_error(ErrorKind::invalid_input, fmt::format("cv.n_splits must be in [{}, {}]",
                                                            config::kMinSplits, config::kMaxSplits));
  }
  if (!(cv.holdout_fraction >= config::kMinHoldoutFraction &&
        cv.holdout_fraction <= config::kMaxHoldoutFraction)) {
    return make_error(ErrorKind::invalid_input,
                      fmt::format("cv.holdout_fraction must be in [{}, {}]", config::kMinHoldoutFraction,
                                  config::kMaxHoldoutFraction));
  }
  spec.cv.scheme = cv.scheme;
  spec.cv.n_splits = static_cast<int>(cv.n_splits);
  spec.cv.horizon = job.horizon;
  spec.cv.embargo_bars = embargo_bars(static_cast<int>(cv.embargo_minutes),
                                      config::timeframe_minutes(job.timeframe), job.horizon);
  spec.holdout_fraction = cv.holdout_fraction;
  if (auto model = make_model(job.model, job.params, job.horizon); !model) return model.take_error();
  return spec;
}

JobResult result_for(const Job& job) {
  JobResult result;
  result.key = job.key;
  result.attempt = job.attempt;
  result.params = job.params;
  result.dispatch_token = job.dispatch_token;  // the persister stores nothing without it
  return result;
}

JobResult failed_result(const Job& job, const std::string& reason) {
  JobResult result = result_for(job);
  result.status = ResultStatus::failed;
  result.reason = reason;
  return result;
}

static JobResult run_job_unchecked(const Job& job, const std::string& fingerprint,
                                   const Bars& bars, FeatureCache& cache,
                                   const config::Config& config) {
  if (auto ok = check_job(job); !ok) return failed_result(job, ok.error());
  auto spec = trial_spec_for(job);
  if (!spec) return failed_result(job, spec.error());
  if (auto ok = check_bars(bars); !ok) return failed_result(job, ok.error());
  JobResult result = result_for(job);
  result.data_fingerprint = fingerprint;
  bool features_cached = false;
  auto features = features_for(job, fingerprint, bars, cache, features_cached);
  result.features_cached = features_cached;
  std::vector<double> labels = make_labels(bars.close, job.horizon);
  LabelledData data{*features, labels};
  if (job.kind == JobKind::trial) {
    auto trial = run_trial(data, *spec);
    if (!trial) return failed_result(job, trial.error());
    result.metrics = trial->oof_metrics;
    result.folds = trial->folds;
    if (trial->pruned) result.status = ResultStatus::pruned;
    return result;
  }
  auto fit = run_final(data, *spec);
  if (!fit) return failed_result(job, fit.error());
  finish_final(job, fingerprint, *fit, *features, config, result);
  return result;
}

// A metric that is undefined for this data (AUC of a fold with one class) is
// left out rather than sent as NaN: absent is not a number, and the
// persister refuses results with non-finite metrics.
static void drop_undefined_metrics(JobResult& result) {
  auto drop = [](std::map<std::string, double>& metrics) {
    std::erase_if(metrics, [](const auto& entry) { return !std::isfinite(entry.second); });
  };
  drop(result.metrics);
  for (auto& fold : result.folds) drop(fold.metrics);
}

JobResult run_job(const Job& job, const std::string& fingerprint, const Bars& bars,
                  FeatureCache& cache, const config::Config& config) {
  JobResult result = run_job_unchecked(job, fingerprint, bars, cache, config);
  drop_undefined_metrics(result);
  return result;
}

}  // namespace nightshift::trainer
