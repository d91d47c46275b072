// The scheduler process for one run: checks the broker is there, plans the
// run (or rebuilds it with --resume), dispatches until the run is done or
// SIGINT/SIGTERM, checkpoints.
#pragma once

#include "config/config.h"
#include "stages/scheduler/scheduler.h"

namespace nightshift::scheduler {

// Returns the process exit code: 0 completed or interrupted (checkpointed),
// 1 failed.
int run_scheduler_stage(const config::Config& config, const SchedulerOptions& options);

}  // namespace nightshift::scheduler
