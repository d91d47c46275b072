// nightshift broker | subscribe | publish
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "apps/cli_context.h"
#include "broker/broker_stage.h"
#include "broker/bus.h"
#include "broker/control_client.h"
#include "schema/event_messages.h"
#include "schema/json.h"
#include "base/process.h"

namespace nightshift::cli {
namespace {

struct BrokerOptions {
  bool stats = false;
};

int run_broker(const GlobalOptions& global, const BrokerOptions& options) {
  if (!options.stats) {
    auto config = begin_command("broker", global);
    return config ? bus::run_broker_stage(*config) : 2;
  }
  auto config = begin_command("broker", global, StopSignals::default_);
  if (!config) return 2;
  zmq::context_t context(1);
  auto stats = bus::ask_broker(context, config->bus, std::chrono::seconds(3));
  if (!stats) {
    std::cerr << "nightshift broker --stats: " << stats.error() << "\n";
    return 1;
  }
  std::cout << *stats << "\n";
  return 0;
}

struct SubscribeOptions {
  std::vector<std::string> prefixes;
  bool json = false;
  int64_t count = 0;
  double timeout_s = 0;
};

int run_subscribe(const GlobalOptions& global, const SubscribeOptions& options) {
  auto config = begin_command("subscribe", global);
  if (!config) return 2;
  zmq::context_t context(1);
  std::vector<std::string> prefixes = options.prefixes;
  if (prefixes.empty()) prefixes.push_back("");
  auto subscriber = bus::Subscriber::connect(context, config->bus, prefixes);
  if (!subscriber) {
    spdlog::error("{}", subscriber.error());
    return 1;
  }
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(options.timeout_s * 1000));
  int64_t printed = 0;
  while (!stop_requested() && (options.count == 0 || printed < options.count)) {
    if (options.timeout_s > 0 && std::chrono::steady_clock::now() >= deadline) break;
    auto envelope = subscriber->receive(std::chrono::milliseconds(200));
    if (!envelope) continue;
    nlohmann::json line = frame_to_json(envelope->topic, envelope->frame);
    if (options.json) {
      std::cout << dump_json(line) << "\n";
    } else {
      std::cout << envelope->topic << " " << envelope->frame.header.type << " #"
                << envelope->frame.header.seq << " " << dump_json(line["data"]) << "\n";
    }
    std::cout.flush();
    ++printed;
  }
  const auto& stats = subscriber->stats();
  spdlog::info("received {}, dropped {} malformed, {} lost (sequence gaps)", stats.received,
               stats.malformed, stats.gaps);
  if (options.count > 0 && printed < options.count) return 3;  // timed out short
  return 0;
}

struct PublishOptions {
  std::string topic;
  std::string name = "sample";
  int64_t count = 10;
  double rate_hz = 10;
  std::vector<std::string> attrs;
  double warmup_s = 0.5;
};

int run_publish(const GlobalOptions& global, const PublishOptions& options) {
  auto config = begin_command("publish", global);
  if (!config) return 2;
  zmq::context_t context(1);
  auto publisher = bus::Publisher::connect(context, config->bus, bus::self_source("publish"));
  if (!publisher) {
    spdlog::error("{}", publisher.error());
    return 1;
  }
  Event event;
  event.name = options.name;
  for (const auto& kv : options.attrs) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) {
      std::cerr << "nightshift: --attr '" << kv << "' must be KEY=VALUE\n";
      return 2;
    }
    event.attrs[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  // PUB drops what it sends before the connection is up (slow joiner).
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(options.warmup_s * 1000)));
  auto period = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / options.rate_hz));
  auto next = std::chrono::steady_clock::now();
  for (int64_t i = 0; (options.count == 0 || i < options.count) && !stop_requested(); ++i) {
    event.attrs["i"] = std::to_string(i);
    publisher->publish(options.topic, event);
    next += period;
    std::this_thread::sleep_until(next);
  }
  spdlog::info("published {} events on '{}'", publisher->sent(), options.topic);
  return 0;
}

}  // namespace

void add_bus_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto broker_options = std::make_shared<BrokerOptions>();
  auto* broker = app.add_subcommand(
      "broker", "Run the broker: binds the events, jobs and results devices and the control "
                "endpoint (from config), forwards until SIGINT/SIGTERM");
  broker->add_flag("--stats", broker_options->stats,
                   "Ask a running broker for its counters (JSON) instead of running one");
  broker->callback([&, broker_options] { exit_code = run_broker(global, *broker_options); });

  auto sub_options = std::make_shared<SubscribeOptions>();
  auto* subscribe = app.add_subcommand(
      "subscribe", "Print events whose topic starts with PREFIX (all if none), one per line");
  subscribe->add_option("prefix", sub_options->prefixes, "Topic prefixes, e.g. telemetry.gpu");
  subscribe->add_flag("--json", sub_options->json,
                      "Full JSON lines: topic, header (v, type, ts, src, seq) and data");
  subscribe->add_option("-n,--count", sub_options->count, "Exit after N events (0: forever)")
      ->check(CLI::NonNegativeNumber);
  subscribe->add_option("--timeout", sub_options->timeout_s,
                        "Exit after S seconds (0: never); with --count, exit 3 if short")
      ->check(CLI::NonNegativeNumber);
  subscribe->callback([&, sub_options] { exit_code = run_subscribe(global, *sub_options); });

  auto pub_options = std::make_shared<PublishOptions>();
  auto* publish = app.add_subcommand("publish", "Publish generic events on TOPIC (testing, demos)");
  publish->add_option("topic", pub_options->topic, "Topic, e.g. demo.hello")->required();
  publish->add_option("--name", pub_options->name, "Event name");
  publish->add_option("-n,--count", pub_options->count, "How many (0: until interrupted)")
      ->check(CLI::NonNegativeNumber);
  publish->add_option("--rate", pub_options->rate_hz, "Events per second")
      ->check(CLI::PositiveNumber);
  publish->add_option("--attr", pub_options->attrs, "KEY=VALUE attribute (repeatable)");
  publish->add_option("--warmup", pub_options->warmup_s,
                      "Seconds to wait for the connection before the first event")
      ->check(CLI::NonNegativeNumber);
  publish->callback([&, pub_options] { exit_code = run_publish(global, *pub_options); });
}

}  // namespace nightshift::cli
