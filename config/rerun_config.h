// The configuration `nightshift rerun` runs with: everything that decides
// results (symbols, timeframes, horizons, models, CV, promotion gates,
// search spaces, sampler and seeds, data source and synthetic settings,
// memory caps) from the stored run's configuration; where things are and
// how the machine is watched (bus, security, storage, logging, dashboard,
// replay, telemetry, the dataset endpoint and host cache) from the current
// one. Time budgets (scheduler.study_timeout_s, scheduler.deadline) are
// turned off: the rerun runs the jobs the stored run ran, whatever they take.
#pragma once

#include <string>

#include "config/config.h"

namespace nightshift::config {

Result<Config> rerun_config(const std::string& stored_yaml, const std::string& stored_run,
                            const Config& current);

}  // namespace nightshift::config
