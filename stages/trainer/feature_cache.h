// Features computed once per (data fingerprint, feature spec, timeframe) and
// kept in a least-recently-used cache bounded in bytes, so the many trials
// of a study on one dataset pay for the features once.
#pragma once

#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "stages/trainer/features.h"

namespace nightshift::trainer {

class FeatureCache {
 public:
  explicit FeatureCache(std::size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

  // Nullptr when absent. A hit moves the entry to the front.
  std::shared_ptr<const FeatureMatrix> find(const std::string& key);
  // Inserts, then evicts least-recently-used entries until within capacity
  // (an entry larger than the whole capacity is not kept).
  void insert(const std::string& key, std::shared_ptr<const FeatureMatrix> features);

  std::size_t bytes() const { return bytes_; }
  std::size_t entries() const { return index_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

  static std::string key(const std::string& fingerprint, const std::string& spec_id,
                         const std::string& timeframe);

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const FeatureMatrix> features;
  };
  std::size_t capacity_bytes_;
  std::size_t bytes_ = 0;
  std::list<Entry> order_;  // most recent first
  std::map<std::string, std::list<Entry>::iterator> index_;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace nightshift::trainer
