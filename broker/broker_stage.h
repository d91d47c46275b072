// The broker process: binds the bus devices and the control endpoint, forwards
// until SIGINT/SIGTERM, logs its counters on the way out.
#pragma once

#include "config/config.h"

namespace nightshift::bus {

// Returns the process exit code (0 on a requested stop, 1 if it cannot bind).
int run_broker_stage(const config::Config& config);

}  // namespace nightshift::bus
