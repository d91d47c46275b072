// Turns one Job plus its dataset into a JobResult: checks the job, gets the
// features (feature cache), runs a trial (CV metrics) or a final fit
// (holdout metrics, gates, artifact). Knows nothing of the bus; the worker
// adds timings and sends the result.
//
// Every problem with the job (unknown model, bad option, too few rows) comes
// back as a result with status "failed" and a reason. std::bad_alloc is not
// caught here: the worker owns what happens at the memory cap.
#pragma once

#include <string>

#include "config/config.h"
#include "schema/data_messages.h"
#include "schema/job_messages.h"
#include "stages/trainer/feature_cache.h"
#include "stages/trainer/trial.h"

namespace nightshift::trainer {

// Trial settings from the job's CV plan and feature spec; an error names a
// setting out of range.
Result<TrialSpec> trial_spec_for(const Job& job);

// A result carrying the job's identity, status "failed" and the reason.
JobResult failed_result(const Job& job, const std::string& reason);
// A successful result carrying the job's identity, to be filled in.
JobResult result_for(const Job& job);

JobResult run_job(const Job& job, const std::string& fingerprint, const Bars& bars,
                  FeatureCache& cache, const config::Config& config);

}  // namespace nightshift::trainer
