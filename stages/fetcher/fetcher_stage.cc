#include "stages/fetcher/fetcher_stage.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "broker/bus.h"
#include "schema/topics.h"
#include "base/process.h"
#include "stages/fetcher/dataset_service.h"
#include "stages/fetcher/source_factory.h"

namespace nightshift::fetcher {
namespace {

std::string notice_topic(const DataNotice& notice) {
  if (notice.kind == "ready") return topics::data_ready(notice.symbol, notice.timeframe);
  return topics::data_notice(notice.kind, notice.source);
}

Status ensure_parent_dir(const std::string& path) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return make_error("cannot create " + parent.string() + ": " + ec.message());
  return Status::success();
}

}  // namespace

int run_fetcher_stage(const config::Config& config) {
  install_stop_signals();
  if (Status s = ensure_parent_dir(config.storage.market_db); !s) {
    spdlog::error("{}", s.error());
    return 1;
  }
  auto cache = MarketCache::open(config.storage.market_db);
  if (!cache) {
    spdlog::error("market cache: {}", cache.error());
    return 1;
  }
  zmq::context_t context(1);
  auto publisher = bus::Publisher::connect(context, config.bus, bus::self_source("fetcher"));
  if (!publisher) {
    spdlog::error("{}", publisher.error());
    return 1;
  }
  NoticeSink notices = [&](const DataNotice& notice) {
    spdlog::info("data.{} {} {} {}: {}", notice.kind, notice.source, notice.symbol,
                 notice.timeframe, notice.message);
    publisher->publish(notice_topic(notice), notice);
  };
  DatasetStore store(*cache, [&fetcher = config.fetcher](const std::string& tf) {
    return fetcher.history_days_for(tf);
  });
  add_configured_sources(store, config.fetcher, notices);
  auto service = DatasetService::bind(context, config, store, notices);
  if (!service) {
    spdlog::error("dataset service: {}", service.error());
    return 1;
  }
  spdlog::info("fetcher up: dataset service on {}, default source {}, cache {}",
               config.fetcher.dataset_endpoint, config.fetcher.source, config.storage.market_db);
  while (!stop_requested()) service->serve_one(std::chrono::milliseconds(200));
  const auto& stats = service->stats();
  spdlog::info("fetcher stopping (signal {}): {} requests, {} unchanged, {} errors, {} bytes sent",
               stop_signal(), stats.requests, stats.unchanged, stats.errors, stats.bytes_sent);
  return 0;
}

}  // namespace nightshift::fetcher
