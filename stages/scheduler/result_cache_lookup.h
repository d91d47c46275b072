// ResultCacheLookup: the scheduler's side of the result cache (docs/cache.md).
// It knows each dataset's fingerprint (DatasetFingerprints), computes a job's
// key (schema/result_cache.h), and finds a usable entry in the in-memory LRU
// (ResultLru) or else the result_cache table: not expired, and for a final
// fit with its artifact file still there. It remembers keys that missed (so
// a job waiting for a worker slot is not looked up again every loop) and
// keys whose hit the persister could not store (never offered again this
// run), and counts hits and misses.
#pragma once

#include <zmq.hpp>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "schema/results_store.h"
#include "stages/scheduler/dataset_fingerprints.h"
#include "stages/scheduler/result_lru.h"

namespace nightshift::scheduler {

class ResultCacheLookup {
 public:
  static constexpr std::size_t kLruEntries = 4096;

  ResultCacheLookup(zmq::context_t& context, const config::Config& config,
                    std::vector<DatasetRequest> datasets);

  // The fingerprint of `job`'s dataset; nullopt while it is on its way (the
  // job waits), "" when there is none to look up with (the job goes out).
  std::optional<std::string> fingerprint(const Job& job);

  struct Found {
    std::string key;
    CacheEntry entry;
  };
  // A usable entry for `job` on data `fingerprint`; `db` may be null.
  std::optional<Found> find(const Job& job, const std::string& fingerprint, ResultsStore* db);

  // A hit went out for `job`; a job looked up (or not) went to a worker.
  void hit_sent(const JobKey& job, const std::string& key);
  void sent_to_worker(bool looked_up) { misses_ += looked_up; }
  // The persister's word on a job: a hit it stored as failed makes its key
  // unusable for the rest of the run.
  void heard(const PersistedResult& event);

  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  const LruCounts& memory() const { return lru_.counts(); }

 private:
  DatasetFingerprints fingerprints_;
  ResultLru lru_{kLruEntries};
  std::string gates_;                            // config::gates_identity(promote_if)
  std::set<std::string> missed_;                 // looked up, not there
  std::set<std::string> unusable_;               // a hit of it failed to store
  std::map<std::string, std::string> in_flight_; // job key text -> cache key of its hit
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace nightshift::scheduler
