// What the operator sees of a run: the live progress line, the end-of-run
// summary table, and `nightshift status` (text or JSON).
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <ostream>
#include <string>

#include "config/config.h"
#include "schema/job_messages.h"
#include "schema/results_store.h"

namespace nightshift::cli {

// "[#########.........] 120/216  running 2  failed 0  skipped 1  3.2 jobs/s  ETA 0:30"
std::string progress_line(const RunProgress& progress, int bar_width = 28);

// "2026-12-03 13:02:03" (UTC) of a time in ns since the epoch.
std::string format_utc(int64_t ns);

// "1:02:03" / "4:05"
std::string format_duration(double seconds);

// Per-study table (best params, CV and holdout AUC, verdict) and totals.
Status print_summary(std::ostream& out, ResultsStore& store, const std::string& run,
                     const config::Config& config);

// One run's state from the database: counts, attempts, skips, timings.
Result<nlohmann::json> run_status(ResultsStore& store, const std::string& run);

// One run's hosts in one line, from its counts: "hostA 53 results from 2
// workers, telemetry; hostB telemetry only" (empty when no host did anything).
std::string host_summary(const std::map<std::string, int64_t>& results,
                         const std::map<std::string, int64_t>& workers,
                         const std::map<std::string, int64_t>& telemetry);
void print_status(std::ostream& out, const nlohmann::json& status);

}  // namespace nightshift::cli
