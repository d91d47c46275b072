// The plan of a night run: one study per symbol x timeframe x horizon x
// model; each study has `trials_per_study` trial jobs, then a final fit
// (trial -1) that waits for them and trains the best params on everything
// but the holdout. Priority: symbols in config order (users list them by
// volume, busiest first), then timeframes, then horizons; lower runs first.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "schema/job_messages.h"

namespace nightshift::scheduler {

inline constexpr int64_t kFinalTrial = -1;

std::string study_id(const std::string& symbol, const std::string& timeframe, int horizon,
                     const std::string& model);

// Trials start pending, finals blocked; every attempt count is 0.
std::vector<JobState> plan_run(const config::Config& config, const std::string& run);

// How many jobs the plan of `config` has per timeframe (for estimates).
std::map<std::string, int64_t> planned_jobs_by_timeframe(const config::Config& config);

}  // namespace nightshift::scheduler
