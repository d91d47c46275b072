// MarketData: the market bars one fetcher process answers from -- the market
// cache (config.storage.market_db, created and migrated on open), the
// DatasetStore over it, and every configured source behind the store.
// `nightshift fetcher` serves it on the bus; `nightshift fetch` asks it
// directly. Neither builds these parts itself, so both answer alike.
#pragma once

#include <memory>

#include "config/config.h"
#include "schema/result.h"
#include "stages/fetcher/dataset_store.h"
#include "stages/fetcher/market_cache.h"
#include "stages/fetcher/source.h"

namespace nightshift::fetcher {

class MarketData {
 public:
  // Opens the cache (creating its directory) and adds the configured sources;
  // their rate-limit and circuit notices go to `notices`. Heap-allocated
  // because the store keeps a reference to the cache.
  static Result<std::unique_ptr<MarketData>> open(const config::Config& config, NoticeSink notices);

  MarketData(const MarketData&) = delete;
  MarketData& operator=(const MarketData&) = delete;

  DatasetStore& store() { return store_; }
  MarketCache& cache() { return cache_; }

 private:
  MarketData(MarketCache cache, const config::FetcherConfig& config);

  MarketCache cache_;  // declared first: the store refers to it
  DatasetStore store_;
};

}  // namespace nightshift::fetcher
