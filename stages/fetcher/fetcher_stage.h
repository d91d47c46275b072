// The fetcher stage process: serves datasets until asked to stop.
#pragma once

#include "config/config.h"

namespace nightshift::fetcher {

// Opens the market cache, binds the dataset service, serves requests until
// SIGINT/SIGTERM. Returns the process exit code (0 on a requested stop).
// `offline`: answer from the cache only, never fetch (DatasetStore::set_offline).
int run_fetcher_stage(const config::Config& config, bool offline = false);

}  // namespace nightshift::fetcher
