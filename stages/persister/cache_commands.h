// `nightshift cache stats [--json]` and `nightshift cache clear`: the result
// cache's table in the results database (docs/cache.md). `clear` writes, so
// like `restore` it is refused while a run holds the run lock (its
// persister is the database's only writer then); `stats` only reads.
#pragma once

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "schema/results_store.h"

namespace nightshift::persister {

// The whole cache as JSON: entries, expired ones waiting, hits and misses
// over every run, removals, and the settings.
Result<nlohmann::json> cache_stats_json(ResultsStore& store, const config::Config& config);

// Returns the exit code; prints text or JSON on stdout, errors as one line.
int run_cache_stats(const config::Config& config, bool json);
int run_cache_clear(const config::Config& config);

}  // namespace nightshift::persister
