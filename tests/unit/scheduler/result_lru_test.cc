// ResultLru: the scheduler's in-memory LRU in front of the result_cache table.
#include "stages/scheduler/result_lru.h"

#include <gtest/gtest.h>

namespace nightshift::scheduler {
namespace {

CacheEntry entry(const std::string& key, int64_t expires_ns = 1000) {
  CacheEntry e;
  e.key = key;
  e.expires_ns = expires_ns;
  return e;
}

TEST(ResultLru, EvictsTheLeastRecentlyUsedBeyondItsCapacity) {
  ResultLru lru(2);
  lru.put(entry("a"));
  lru.put(entry("b"));
  ASSERT_TRUE(lru.get("a", 0));  // a is now the most recent; b the least
  lru.put(entry("c"));
  EXPECT_EQ(lru.size(), 2u);
  EXPECT_FALSE(lru.get("b", 0));
  EXPECT_TRUE(lru.get("a", 0));
  EXPECT_TRUE(lru.get("c", 0));
  EXPECT_EQ(lru.counts().evictions, 1u);
  lru.put(entry("d"));  // a was read before c: a goes
  EXPECT_FALSE(lru.get("a", 0));
  EXPECT_TRUE(lru.get("c", 0));
  EXPECT_TRUE(lru.get("d", 0));
  EXPECT_EQ(lru.counts().evictions, 2u);
  EXPECT_EQ(lru.counts().hits, 5u);
  EXPECT_EQ(lru.counts().misses, 2u);
}

TEST(ResultLru, PuttingAKeyAgainReplacesItWithoutEvicting) {
  ResultLru lru(2);
  lru.put(entry("a", 10));
  lru.put(entry("b"));
  lru.put(entry("a", 5000));
  EXPECT_EQ(lru.size(), 2u);
  EXPECT_EQ(lru.counts().evictions, 0u);
  auto a = lru.get("a", 2000);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->expires_ns, 5000);
}

TEST(ResultLru, AnExpiredEntryIsDroppedWhenLookedUp) {
  ResultLru lru(4);
  lru.put(entry("old", 100));
  lru.put(entry("new", 300));
  EXPECT_TRUE(lru.get("old", 99));
  EXPECT_FALSE(lru.get("old", 100));  // expires_ns is the first instant it is no longer used
  EXPECT_EQ(lru.size(), 1u);
  EXPECT_EQ(lru.counts().expired, 1u);
  EXPECT_TRUE(lru.get("new", 200));
}

TEST(ResultLru, EraseAndZeroCapacity) {
  ResultLru lru(3);
  lru.put(entry("a"));
  lru.erase("a");
  lru.erase("missing");
  EXPECT_FALSE(lru.get("a", 0));
  ResultLru none(0);
  none.put(entry("a"));
  EXPECT_EQ(none.size(), 0u);
  EXPECT_FALSE(none.get("a", 0));
}

}  // namespace
}  // namespace nightshift::scheduler
