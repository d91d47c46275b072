#include "stages/telemetry/telemetry_stage.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "schema/event_messages.h"
#include "schema/topics.h"
#include "stages/common/process.h"

namespace nightshift::telemetry {
namespace {

// PUB drops what it sends before its connection is up; the first inventory
// waits this long so a subscriber that is already there sees it.
constexpr int64_t kConnectSettleNs = 300'000'000;

double pct(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

int64_t mono_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string inventory_topic(const std::string& host) {
  return "telemetry.inventory." + topics::segment(host);
}

TelemetryStage::TelemetryStage(const config::TelemetryConfig& config, std::string host,
                               GpuFleet fleet, bus::Publisher publisher, bus::Subscriber requests)
    : host_(std::move(host)),
      fleet_(std::move(fleet)),
      host_sampler_(config.proc_root, config.disks),
      alerts_(rules_from_config(config.alerts),
              static_cast<int64_t>(config.alerts.min_duration_ms) * 1'000'000, host_),
      publisher_(std::move(publisher)),
      requests_(std::move(requests)) {}

void TelemetryStage::sample_and_publish(int64_t mono_ns) {
  HostSample host;
  host.host = host_;
  host_sampler_.sample(mono_ns, host);
  std::vector<GpuSample> gpus = fleet_.sample(mono_ns);
  publisher_.publish(topics::telemetry_host(host_), host);
  for (const auto& gpu : gpus) publisher_.publish(topics::telemetry_gpu(host_, gpu.index), gpu);
  evaluate_alerts(host, gpus, mono_ns);
  ++samples_;
}

void TelemetryStage::evaluate_alerts(const HostSample& host, const std::vector<GpuSample>& gpus,
                                     int64_t mono_ns) {
  auto feed = [&](std::string_view kind, const std::string& metric, double value) {
    publish_alerts(alerts_.observe(kind, metric, value, mono_ns));
  };
  for (const auto& gpu : gpus) {
    std::string prefix = "gpu" + std::to_string(gpu.index) + ".";
    if (gpu.temp_c) feed(kGpuTemp, prefix + std::string(kGpuTemp), *gpu.temp_c);
    if (gpu.mem_used_bytes && gpu.mem_total_bytes && *gpu.mem_total_bytes > 0) {
      feed(kGpuVram, prefix + std::string(kGpuVram),
           pct(*gpu.mem_used_bytes, *gpu.mem_total_bytes));
    }
  }
  if (host.mem_total_bytes > 0) {
    feed(kHostMem, "host." + std::string(kHostMem), pct(host.mem_used_bytes, host.mem_total_bytes));
  }
  if (host.cpu_pct) feed(kHostCpu, "host." + std::string(kHostCpu), *host.cpu_pct);
  for (const auto& disk : host.disks) {
    feed(kDiskUsed, "disk:" + disk.path + "." + std::string(kDiskUsed),
         pct(disk.used_bytes, disk.total_bytes));
  }
}

void TelemetryStage::publish_alerts(const std::vector<Alert>& alerts) {
  for (const auto& alert : alerts) {
    if (alert.state == "firing")
      spdlog::warn("alert: {}", alert.message);
    else
      spdlog::info("alert resolved: {}", alert.message);
    publisher_.publish(topics::alert(alert.level, alert.host, alert.metric), alert);
  }
}

void TelemetryStage::publish_inventory() {
  publisher_.publish(inventory_topic(host_), fleet_.inventory());
}

void TelemetryStage::wait_until(int64_t deadline_ns) {
  while (!stop_requested()) {
    int64_t left_ns = deadline_ns - mono_now_ns();
    if (left_ns <= 0) return;
    auto timeout = std::chrono::milliseconds((left_ns + 999'999) / 1'000'000);
    auto envelope = requests_.receive(timeout);
    if (!envelope) continue;
    auto event = decode_payload<Event>(envelope->frame);
    if (event && event->name == kInventoryRequestTopic) {
      spdlog::info("inventory requested by {}", envelope->frame.header.src.host);
      publish_inventory();
    }
  }
}

namespace {

void log_backends(const GpuFleet& fleet) {
  for (const auto& report : fleet.reports()) {
    if (report.available)
      spdlog::info("backend {}: {} device(s)", report.name, report.devices);
    else
      spdlog::info("backend {} unavailable: {}", report.name, report.reason);
  }
}

}  // namespace

int run_telemetry_stage(const config::Config& config) {
  zmq::context_t context(1);
  auto publisher = bus::Publisher::connect(context, config.bus, bus::self_source("telemetry"));
  auto requests = bus::Subscriber::connect(context, config.bus, {kInventoryRequestTopic});
  if (!publisher || !requests) {
    spdlog::error("cannot connect to the bus: {}",
                  !publisher ? publisher.error() : requests.error());
    return 1;
  }
  std::string host = host_name();
  GpuFleet fleet = GpuFleet::open(config.telemetry, host);
  log_backends(fleet);
  TelemetryStage stage(config.telemetry, host, std::move(fleet), std::move(*publisher),
                       std::move(*requests));
  stage.wait_until(mono_now_ns() + kConnectSettleNs);
  stage.publish_inventory();

  const int64_t interval_ns = static_cast<int64_t>(config.telemetry.interval_ms) * 1'000'000;
  spdlog::info("sampling every {} ms", config.telemetry.interval_ms);
  int64_t next_ns = mono_now_ns();
  while (!stop_requested()) {
    stage.sample_and_publish(mono_now_ns());
    next_ns += interval_ns;
    // Behind by more than a whole interval (suspend, overload): skip ahead
    // rather than publish a burst of catch-up samples.
    next_ns = std::max(next_ns, mono_now_ns() - interval_ns);
    stage.wait_until(next_ns);
  }
  spdlog::info("telemetry stopping (signal {}) after {} samples", stop_signal(), stage.samples());
  return 0;
}

}  // namespace nightshift::telemetry
