#include "stages/scheduler/result_cache_lookup.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "base/build_id.h"
#include "base/process.h"
#include "schema/json_columns.h"
#include "schema/result_cache.h"

namespace nightshift::scheduler {

ResultCacheLookup::ResultCacheLookup(zmq::context_t& context, const config::Config& config,
                                     std::vector<DatasetRequest> datasets)
    : fingerprints_(context, config, std::move(datasets)),
      gates_(config::gates_identity(config.promote_if)) {}

std::optional<std::string> ResultCacheLookup::fingerprint(const Job& job) {
  if (!cacheable(job)) return std::string();
  auto answer = fingerprints_.of(job);
  if (answer.state == DatasetFingerprints::State::waiting) return std::nullopt;
  return std::move(answer.fingerprint);  // "" when the service could not give one
}

std::optional<ResultCacheLookup::Found> ResultCacheLookup::find(const Job& job,
                                                                const std::string& fingerprint,
                                                                ResultsStore* db) {
  const std::string key = result_cache_key(cache_identity(
      job, job.kind, json_object_text(job.params), fingerprint, gates_, code_version()));
  if (missed_.count(key) != 0 || unusable_.count(key) != 0) return std::nullopt;
  const int64_t now = now_ns();
  auto entry = lru_.get(key, now);
  if (!entry && db != nullptr) {
    auto stored = db->cache_entry(key);
    if (!stored) spdlog::warn("result cache lookup: {}", stored.error());
    if (stored && *stored && (*stored)->expires_ns > now) {
      entry = **stored;
      lru_.put(**stored);
    }
  }
  std::error_code ec;
  if (entry && job.kind == JobKind::final_fit &&
      (!entry->artifact_path || !std::filesystem::is_regular_file(*entry->artifact_path, ec))) {
    spdlog::info("result cache: the artifact of {} is gone; fitting it again", job.key.study);
    lru_.erase(key);
    entry.reset();
  }
  if (!entry) {
    missed_.insert(key);
    return std::nullopt;
  }
  return Found{key, std::move(*entry)};
}

void ResultCacheLookup::hit_sent(const JobKey& job, const std::string& key) {
  in_flight_[job_key_text(job)] = key;
  ++hits_;
}

void ResultCacheLookup::heard(const PersistedResult& event) {
  auto hit = in_flight_.find(job_key_text(event.key));
  if (hit == in_flight_.end()) return;
  if (event.status != ResultStatus::ok) {
    unusable_.insert(hit->second);
    lru_.erase(hit->second);
  }
  in_flight_.erase(hit);
}

}  // namespace nightshift::scheduler
