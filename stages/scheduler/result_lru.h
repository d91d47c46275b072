// ResultLru: the scheduler's in-memory LRU of result cache entries, in front
// of the result_cache table. A key found here costs no database read; an
// entry past its expiry is dropped when looked up (counted as expired), and
// putting one beyond the capacity evicts the least recently used (counted).
// Entries are small (where the rows are, not the rows), so the scheduler
// can keep thousands.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "schema/result_cache.h"

namespace nightshift::scheduler {

struct LruCounts {
  uint64_t hits = 0;       // lookups answered here
  uint64_t misses = 0;     // lookups not answered here (then the database is asked)
  uint64_t evictions = 0;  // entries pushed out by newer ones
  uint64_t expired = 0;    // entries found past their expiry and dropped
};

class ResultLru {
 public:
  explicit ResultLru(std::size_t capacity) : capacity_(capacity) {}

  // The entry under `key` if it is here and not expired at `now_ns`; it
  // becomes the most recently used.
  std::optional<CacheEntry> get(const std::string& key, int64_t now_ns);
  void put(CacheEntry entry);
  void erase(const std::string& key);

  std::size_t size() const { return index_.size(); }
  const LruCounts& counts() const { return counts_; }

 private:
  using Order = std::list<CacheEntry>;  // most recently used first
  std::size_t capacity_;
  Order order_;
  std::unordered_map<std::string, Order::iterator> index_;
  LruCounts counts_;
};

}  // namespace nightshift::scheduler
