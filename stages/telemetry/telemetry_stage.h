// The telemetry stage: samples the host and every available GPU at
// telemetry.interval_ms, publishes telemetry.host.<host> and
// telemetry.gpu.<host>.<index>, evaluates the alert rules (alert.<level>.
// <host>.<metric>), and publishes the device inventory on
// telemetry.inventory.<host> at start and whenever an Event arrives on
// kInventoryRequestTopic.
#pragma once

#include <cstdint>
#include <string>
#include <zmq.hpp>

#include "broker/bus.h"
#include "config/config.h"
#include "stages/telemetry/alert_rules.h"
#include "stages/telemetry/gpu_fleet.h"
#include "stages/telemetry/host_sampler.h"

namespace nightshift::telemetry {

inline constexpr const char* kInventoryRequestTopic = "telemetry.inventory.request";
std::string inventory_topic(const std::string& host);

class TelemetryStage {
 public:
  TelemetryStage(const config::TelemetryConfig& config, std::string host, GpuFleet fleet,
                 bus::Publisher publisher, bus::Subscriber requests);

  // Takes one sample of everything and publishes it with any alerts.
  void sample_and_publish(int64_t mono_ns);
  void publish_inventory();
  // Waits until `deadline_ns` (monotonic), answering inventory requests.
  void wait_until(int64_t deadline_ns);

  uint64_t samples() const { return samples_; }
  const GpuFleet& fleet() const { return fleet_; }

 private:
  void evaluate_alerts(const HostSample& host, const std::vector<GpuSample>& gpus, int64_t mono_ns);
  void publish_alerts(const std::vector<Alert>& alerts);

  std::string host_;
  GpuFleet fleet_;
  HostSampler host_sampler_;
  AlertTracker alerts_;
  bus::Publisher publisher_;
  bus::Subscriber requests_;
  uint64_t samples_ = 0;
};

// The stage's whole life: connect, announce, sample every interval until
// SIGINT/SIGTERM. Returns the process exit code.
int run_telemetry_stage(const config::Config& config);

// Monotonic clock in nanoseconds.
int64_t mono_now_ns();

}  // namespace nightshift::telemetry
