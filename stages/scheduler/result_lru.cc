#include "stages/scheduler/result_lru.h"

namespace nightshift::scheduler {

std::optional<CacheEntry> ResultLru::get(const std::string& key, int64_t now_ns) {
  auto found = index_.find(key);
  if (found == index_.end()) {
    ++counts_.misses;
    return std::nullopt;
  }
  if (found->second->expires_ns <= now_ns) {
    order_.erase(found->second);
    index_.erase(found);
    ++counts_.expired;
    ++counts_.misses;
    return std::nullopt;
  }
  order_.splice(order_.begin(), order_, found->second);  // now the most recent
  ++counts_.hits;
  return *found->second;
}

void ResultLru::put(CacheEntry entry) {
  if (capacity_ == 0) return;
  if (auto found = index_.find(entry.key); found != index_.end()) {
    *found->second = std::move(entry);
    order_.splice(order_.begin(), order_, found->second);
    return;
  }
  order_.push_front(std::move(entry));
  index_[order_.front().key] = order_.begin();
  while (index_.size() > capacity_) {
    index_.erase(order_.back().key);
    order_.pop_back();
    ++counts_.evictions;
  }
}

void ResultLru::erase(const std::string& key) {
  auto found = index_.find(key);
  if (found == index_.end()) return;
  order_.erase(found->second);
  index_.erase(found);
}

}  // namespace nightshift::scheduler
