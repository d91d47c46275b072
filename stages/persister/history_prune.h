// `nightshift prune`: applies the retention settings (storage.
// telemetry_retention_days, storage.events_retention_days) to the results
// database now, beside a running persister or without one, in small timed
// transactions (schema/retention.h), and reports what it freed. VACUUM only
// when asked: it rewrites the whole file and holds the write lock meanwhile.
#pragma once

#include "config/config.h"

namespace nightshift::persister {

struct PruneOptions {
  bool dry_run = false;
  bool vacuum = false;
};

// Prints one line per table and a total; errors are one line on stderr.
// Returns the exit code.
int run_prune(const config::Config& config, const PruneOptions& options);

}  // namespace nightshift::persister
