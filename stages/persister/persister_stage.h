// The persister process: opens the results database (the only writer),
// checks the broker is there, commits until SIGINT/SIGTERM, reports.
#pragma once

#include <string>

#include "config/config.h"

namespace nightshift::persister {

// Returns the process exit code (0 on a requested stop, 1 when the database
// or the broker is not usable). With `run` (the supervisor passes its run),
// results and checkpoints of any other run are refused.
// With `run`, the run's provenance (configuration, code version, kernels;
// `rerun_of`: the run it re-runs) is recorded first (ResultsStore::put_provenance).
int run_persister_stage(const config::Config& config, const std::string& run = "",
                        const std::string& rerun_of = "");

}  // namespace nightshift::persister
