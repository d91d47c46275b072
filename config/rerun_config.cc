#include "config/rerun_config.h"

namespace nightshift::config {

Result<Config> rerun_config(const std::string& stored_yaml, const std::string& stored_run,
                            const Config& current) {
  auto stored = load_config_text(stored_yaml, "the stored configuration of run " + stored_run);
  if (!stored) return stored.take_error();
  Config merged = std::move(*stored);
  merged.bus = current.bus;
  merged.security = current.security;
  merged.storage = current.storage;
  merged.logging = current.logging;
  merged.dashboard = current.dashboard;
  merged.replay = current.replay;
  merged.telemetry = current.telemetry;
  merged.fetcher.dataset_endpoint = current.fetcher.dataset_endpoint;
  merged.fetcher.host_cache_dir = current.fetcher.host_cache_dir;
  merged.fetcher.dataset_timeout_ms = current.fetcher.dataset_timeout_ms;
  merged.fetcher.dataset_attempts = current.fetcher.dataset_attempts;
  // A rerun recomputes every result: answered from the result cache it
  // would compare the stored run with its own cached rows.
  merged.cache.enabled = false;
  merged.scheduler.study_timeout_s = 0;
  merged.scheduler.deadline.clear();
  merged.source_file.clear();
  return merged;
}

}  // namespace nightshift::config
