#include "stages/scheduler/plan.h"

#include <set>

#include "stages/scheduler/sampler.h"

namespace nightshift::scheduler {
namespace {

Job study_job(const config::Config& c, const std::string& run, const std::string& study,
              const std::string& symbol, const std::string& tf, int horizon,
              const std::string& model) {
  Job job;
  job.key = JobKey{run, study, 0};
  job.attempt = 0;
  job.symbol = symbol;
  job.timeframe = tf;
  job.horizon = static_cast<uint32_t>(horizon);
  job.model = model;
  job.source = c.fetcher.source;
  // The config reader admits only the scheme names parse_wire knows.
  job.cv.scheme = parse_wire<CvScheme>(c.cv.scheme).value_or(CvScheme::purged_kfold);
  job.cv.n_splits = static_cast<uint32_t>(c.n_splits);
  job.cv.embargo_minutes = static_cast<uint32_t>(c.embargo_minutes);
  job.cv.holdout_fraction = c.holdout_fraction;
  return job;
}

}  // namespace

std::string study_id(const std::string& symbol, const std::string& timeframe, int horizon,
                     const std::string& model) {
  return symbol + "." + timeframe + ".h" + std::to_string(horizon) + "." + model;
}

std::vector<JobState> plan_run(const config::Config& c, const std::string& run) {
  std::vector<JobState> jobs;
  std::set<std::string> planned;
  int32_t priority = 0;
  for (const auto& symbol : c.symbols) {
    for (const auto& tf : c.timeframes) {
      for (int horizon : c.horizons) {
        for (const auto& model : c.models) {
          std::string study = study_id(symbol, tf, horizon, model);
          // The config rejects repeated entries; a job key must stay unique
          // even so, or its run could never finish.
          if (!planned.insert(study).second) continue;
          Job base = study_job(c, run, study, symbol, tf, horizon, model);
          base.priority = priority++;
          for (int64_t t = 0, n = planned_trials(c, model); t < n; ++t) {
            Job trial = base;
            trial.key.trial = t;
            trial.kind = JobKind::trial;
            trial.params = plan_params(c, model, study, t);
            jobs.push_back(JobState{std::move(trial), WorkState::pending, ""});
          }
          Job final_fit = base;
          final_fit.key.trial = kFinalTrial;
          final_fit.kind = JobKind::final_fit;
          jobs.push_back(JobState{std::move(final_fit), WorkState::blocked, ""});
        }
      }
    }
  }
  return jobs;
}

std::map<std::string, int64_t> planned_jobs_by_timeframe(const config::Config& config) {
  std::map<std::string, int64_t> jobs;
  for (const auto& state : plan_run(config, "")) ++jobs[state.job.timeframe];
  return jobs;
}

}  // namespace nightshift::scheduler
