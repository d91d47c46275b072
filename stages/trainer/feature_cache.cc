#include "stages/trainer/feature_cache.h"

namespace nightshift::trainer {

std::string FeatureCache::key(const std::string& fingerprint, const std::string& spec_id,
                              const std::string& timeframe) {
  return fingerprint + "|" + spec_id + "|" + timeframe;
}

std::shared_ptr<const FeatureMatrix> FeatureCache::find(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  order_.splice(order_.begin(), order_, it->second);
  return it->second->features;
}

void FeatureCache::insert(const std::string& key, std::shared_ptr<const FeatureMatrix> features) {
  if (auto it = index_.find(key); it != index_.end()) {
    bytes_ -= it->second->features->bytes();
    order_.erase(it->second);
    index_.erase(it);
  }
  if (features->bytes() > capacity_bytes_) return;
  bytes_ += features->bytes();
  order_.push_front(Entry{key, std::move(features)});
  index_[key] = order_.begin();
  while (bytes_ > capacity_bytes_) {
    bytes_ -= order_.back().features->bytes();
    index_.erase(order_.back().key);
    order_.pop_back();
  }
}

}  // namespace nightshift::trainer
