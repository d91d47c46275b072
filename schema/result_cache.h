// The result cache across runs: what decides a job's result, hashed into a
// key, and an entry of the result_cache table (005_result_cache.sql).
//
// Two stages compute the same key independently: the scheduler before it
// sends a job (from the plan, the job's params and the fingerprint the
// dataset service gave it), and the persister when it stores a result (from
// the plan it recorded, the params and fingerprint the result carries). The
// persister's is the one an entry is stored under, so an entry always names
// the data the worker actually trained on. See docs/cache.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "schema/job_messages.h"

namespace nightshift {

struct CacheIdentity {
  std::string data_fingerprint;  // the dataset service's 128-bit fingerprint
  std::string source, symbol, timeframe;
  uint32_t horizon = 1;
  std::string model;
  JobKind kind = JobKind::trial;
  std::string feature_spec;  // "" for the default spec
  CvPlan cv;
  std::string params_json;   // json_object_text(params): the text the trials row keeps
  std::string gates;         // final fits: the promotion gates the worker judged; "" for trials
  std::string code_version;  // the build (base/build_id.h)
};

// `spec` is any job of the study (its kind is taken from `kind`).
CacheIdentity cache_identity(const Job& spec, JobKind kind, std::string params_json,
                             std::string data_fingerprint, std::string gates,
                             std::string code_version);

// 128 bits of SHA-256 over a length-prefixed rendering of every field, as hex.
std::string result_cache_key(const CacheIdentity& identity);

// Whether a job may be cached at all: diagnostics (memory probes) may not.
bool cacheable(const Job& job);

struct CacheEntry {
  std::string key;
  JobKind kind = JobKind::trial;
  std::string symbol, timeframe, model, data_fingerprint;
  // The trials row (and for a final fit the models row) the entry stands for.
  std::string source_run, source_study;
  int64_t source_trial = 0;
  std::optional<std::string> artifact_path;
  int64_t created_ns = 0;
  int64_t expires_ns = 0;
  int64_t last_used_ns = 0;
  int64_t hits = 0;
};

// The whole cache, for `nightshift cache stats`.
struct CacheSummary {
  int64_t entries = 0;
  int64_t expired_waiting = 0;  // past their TTL, not yet deleted
  int64_t trial_entries = 0;
  int64_t final_entries = 0;
  std::optional<int64_t> oldest_created_ns;
  std::optional<int64_t> newest_created_ns;
  int64_t entry_hits = 0;  // hits served by the entries there now
  int64_t hits = 0;        // trials rows of every run that came from the cache
  int64_t misses = 0;      // trials rows a worker computed
  int64_t expired = 0;     // entries deleted past their TTL, all runs
  int64_t evicted = 0;     // entries deleted beyond max_entries, all runs
};

// One run's side of it: hits and misses from its trials rows, removals from
// the persister that served it.
struct RunCacheStats {
  int64_t hits = 0;
  int64_t misses = 0;
  int64_t expired = 0;
  int64_t evicted = 0;
  double hit_rate() const {
    return hits + misses > 0 ? static_cast<double>(hits) / static_cast<double>(hits + misses) : 0;
  }
};

// What one clean_cache() round removed.
struct CacheCleanup {
  int64_t expired = 0;
  int64_t evicted = 0;
};

}  // namespace nightshift
