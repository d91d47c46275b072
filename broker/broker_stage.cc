#include "broker/broker_stage.h"

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "base/process.h"
#include "base/run_instance.h"
#include "broker/broker.h"

namespace nightshift::bus {

int run_broker_stage(const config::Config& config) {
  install_stop_signals();
  zmq::context_t context(1);
  auto broker = Broker::bind(context, config.bus, run_instance());
  if (!broker) {
    spdlog::error("{}", broker.error());
    return 1;
  }
  spdlog::info("broker up: events {} -> {}, jobs {} -> {}, results {} -> {}, control {}",
               config.bus.events_in, config.bus.events_out, config.bus.jobs_in,
               config.bus.jobs_out, config.bus.results_in, config.bus.results_out,
               config.bus.control);
  (*broker)->run([] { return stop_requested(); });
  spdlog::info("broker stopping (signal {}): {}", stop_signal(), (*broker)->stats_json().dump());
  return 0;
}

}  // namespace nightshift::bus
