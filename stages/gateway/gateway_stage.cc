#include "stages/gateway/gateway_stage.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "base/process.h"
#include "broker/bus.h"
#include "broker/control_client.h"
#include "schema/json.h"
#include "stages/gateway/api.h"
#include "stages/gateway/http_server.h"
#include "stages/gateway/live_state.h"
#include "stages/gateway/metrics_exposition.h"

namespace nightshift::gateway {
namespace {

constexpr auto kBrokerStatsEvery = std::chrono::seconds(2);
constexpr auto kBrokerStatsTimeout = std::chrono::milliseconds(300);

// Follows the bus until stop is requested: feeds LiveState, hands the
// WebSocket clients what they asked for, asks the broker for its counters.
void follow_bus(zmq::context_t& context, const config::BusConfig& bus, bus::Subscriber& subscriber,
                LiveState& live, Server& server) {
  auto next_stats = std::chrono::steady_clock::now();
  while (!stop_requested()) {
    if (std::chrono::steady_clock::now() >= next_stats) {
      next_stats = std::chrono::steady_clock::now() + kBrokerStatsEvery;
      if (auto stats = bus::ask_broker(context, bus, kBrokerStatsTimeout)) {
        auto parsed = nlohmann::json::parse(*stats, nullptr, false);
        if (!parsed.is_discarded()) live.set_broker_stats(std::move(parsed));
      }
    }
    auto envelope = subscriber.receive(std::chrono::milliseconds(100));
    if (!envelope) continue;
    live.take(*envelope);
    StreamMessage message;
    if (server.wants_frames()) {
      message.frame_json = std::make_shared<const std::string>(
          dump_json(frame_to_json(envelope->topic, envelope->frame)));
    }
    if (server.wants_gpu() && envelope->frame.header.type == GpuSample::kType) {
      if (auto gpu = decode_payload<GpuSample>(envelope->frame)) {
        nlohmann::json one = gpu_json(*gpu, judge_gpu(*gpu, live.rules()));
        message.gpu_json = std::make_shared<const std::string>(dump_json(
            {{"timestamp", static_cast<double>(envelope->frame.header.ts_ns) / 1e9},
             {"gpus", nlohmann::json::array({one})}}));
      }
    }
    if (message.frame_json || message.gpu_json) {
      message.topic = envelope->topic;
      server.broadcast(std::move(message));
    }
  }
}

}  // namespace

bool is_loopback(const std::string& address) {
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  return address == "::1";
}

std::string gateway_url(const config::DashboardConfig& dashboard) {
  std::string host = dashboard.bind == "0.0.0.0" || dashboard.bind == "::" ? host_name() : dashboard.bind;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(dashboard.port) + "/";
}

int run_gateway_stage(const config::Config& config) {
  const auto& dashboard = config.dashboard;
  if (!is_loopback(dashboard.bind) && dashboard.token.empty()) {
    spdlog::error("dashboard.bind {} is not a loopback address: set dashboard.token "
                  "(or NIGHTSHIFT_DASHBOARD_TOKEN) so that only token holders can read it",
                  dashboard.bind);
    return 2;
  }
  zmq::context_t context(1);
  if (auto ours = bus::check_broker_instance(context, config.bus, bus::kStageBrokerWait); !ours) {
    spdlog::error("{}", ours.error());
    return 1;
  }
  auto subscriber = bus::Subscriber::connect(context, config.bus, {""});
  if (!subscriber) {
    spdlog::error("cannot connect to the bus: {}", subscriber.error());
    return 1;
  }
  LiveState live(config);
  History history(config.storage.results_db);
  Metrics metrics;
  StreamCounters streams;
  Api api(config, live, history, metrics, streams);
  ServerLimits limits;
  limits.ws_client_buffer_bytes = dashboard.ws_client_buffer_bytes;
  Server server(api, limits, streams);
  if (auto listening = server.listen(dashboard.bind, dashboard.port); !listening) {
    spdlog::error("{}", listening.error());
    return 1;
  }
  spdlog::info("gateway serving {}", gateway_url(dashboard));
  std::thread bus_thread([&] {
    follow_bus(context, config.bus, *subscriber, live, server);
    server.stop();
  });
  server.run();
  bus_thread.join();
  spdlog::info("gateway stopping (signal {}) after {} bus messages", stop_signal(), live.messages());
  return 0;
}

}  // namespace nightshift::gateway
