#include "stages/fetcher/fetcher_stage.h"

#include <spdlog/spdlog.h>

#include "broker/bus.h"
#include "broker/control_client.h"
#include "schema/topics.h"
#include "base/process.h"
#include "stages/fetcher/dataset_service.h"
#include "stages/fetcher/market_data.h"

namespace nightshift::fetcher {
namespace {

std::string notice_topic(const DataNotice& notice) {
  if (notice.kind == "ready") return topics::data_ready(notice.symbol, notice.timeframe);
  return topics::data_notice(notice.kind, notice.source);
}

}  // namespace

int run_fetcher_stage(const config::Config& config, bool offline) {
  install_stop_signals();
  zmq::context_t context(1);
  if (auto ours = bus::check_broker_instance(context, config.bus, bus::kStageBrokerWait); !ours) {
    spdlog::error("{}", ours.error());
    return 1;
  }
  auto publisher = bus::Publisher::connect(context, config.bus, bus::self_source("fetcher"));
  if (!publisher) {
    spdlog::error("{}", publisher.error());
    return 1;
  }
  // Called by the dataset service's threads, one at a time (under its fetch
  // lock): the publisher is this thread's socket, but never used at once.
  NoticeSink notices = [&](const DataNotice& notice) {
    spdlog::info("data.{} {} {} {}: {}", notice.kind, notice.source, notice.symbol,
                 notice.timeframe, notice.message);
    publisher->publish(notice_topic(notice), notice);
  };
  auto market = MarketData::open(config, notices);
  if (!market) {
    spdlog::error("{}", market.error());
    return 1;
  }
  (*market)->store().set_offline(offline);
  auto service = DatasetService::bind(context, config, (*market)->store(), notices);
  if (!service) {
    spdlog::error("dataset service: {}", service.error());
    return 1;
  }
  spdlog::info("fetcher up: dataset service on {} ({} threads), default source {}, cache {}{}",
               config.fetcher.dataset_endpoint, (*service)->threads(), config.fetcher.source,
               config.storage.market_db, offline ? " (offline: answers from the cache only)" : "");
  while (!stop_requested()) (*service)->serve_one(std::chrono::milliseconds(200));
  const ServiceStats stats = (*service)->stats();
  spdlog::info("fetcher stopping (signal {}): {} requests, {} unchanged, {} fetched, {} errors, "
               "{} dropped, {} bytes sent, {} connections refused",
               stop_signal(), stats.requests, stats.unchanged, stats.fetched, stats.errors,
               stats.dropped, stats.bytes_sent, (*service)->refused());
  return 0;
}

}  // namespace nightshift::fetcher
