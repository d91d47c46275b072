#include "stages/fetcher/market_data.h"

#include <filesystem>

#include "stages/fetcher/source_factory.h"

namespace nightshift::fetcher {
namespace {

Status ensure_parent_dir(const std::string& path) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return make_error("cannot create " + parent.string() + ": " + ec.message());
  return Status::success();
}

}  // namespace

Result<std::unique_ptr<MarketData>> MarketData::open(const config::Config& config,
                                                     NoticeSink notices) {
  if (Status s = ensure_parent_dir(config.storage.market_db); !s) return Error{s.error()};
  auto cache = MarketCache::open(config.storage.market_db);
  if (!cache) return Error{cache.error()};
  std::unique_ptr<MarketData> data(new MarketData(std::move(*cache), config.fetcher));
  add_configured_sources(data->store_, config.fetcher, notices);
  return data;
}

MarketData::MarketData(MarketCache cache, const config::FetcherConfig& config)
    : cache_(std::move(cache)),
      // A copy: the store must not depend on how long the caller keeps its Config.
      store_(cache_, [fetcher = config](const std::string& tf) { return fetcher.history_days_for(tf); }) {}

}  // namespace nightshift::fetcher
