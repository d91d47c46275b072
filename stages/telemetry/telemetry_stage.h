// The telemetry stage: samples the host and every available GPU at
// telemetry.interval_ms, publishes telemetry.host.<host> and
// telemetry.gpu.<host>.<index>, evaluates the alert rules (alert.<level>.
// <host>.<metric>), and publishes the device inventory on
// telemetry.inventory.<host> at start and whenever an Event arrives on
// kInventoryRequestTopic.
#pragma once

#include <signal.h>

#include <cstdint>
#include <string>
#include <vector>
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
  // One ppoll(2) per call unless a request (or other socket traffic) wakes
  // it; SIGINT/SIGTERM are unblocked for the wait (see run_telemetry_stage).
  void wait_until(int64_t deadline_ns);

  uint64_t samples() const { return samples_; }
  const GpuFleet& fleet() const { return fleet_; }

 private:
  void evaluate_alerts(const HostSample& host, const std::vector<GpuSample>& gpus, int64_t mono_ns);
  void publish_alerts(const std::vector<Alert>& alerts);
  void answer_requests();

  std::string host_;
  std::string host_topic_;
  std::vector<std::string> gpu_topics_;  // by global device index
  std::vector<std::string> bodies_;      // one tick's encoded samples (reused)
  GpuFleet fleet_;
  HostSampler host_sampler_;
  AlertTracker alerts_;
  bus::Publisher publisher_;
  bus::Subscriber requests_;
  // The request socket's ZMQ_FD: readable once the socket has new commands.
  // It does not fire again for messages already announced, so it is only
  // waited on after answer_requests() has drained the socket.
  int requests_fd_ = -1;
  bool requests_drained_ = false;
  sigset_t wait_mask_;  // this thread's mask with SIGINT/SIGTERM let through
  uint64_t samples_ = 0;
};

// The stage's whole life: connect, announce, sample every interval until
// SIGINT/SIGTERM. Returns the process exit code.
int run_telemetry_stage(const config::Config& config);

// Monotonic clock in nanoseconds.
int64_t mono_now_ns();

}  // namespace nightshift::telemetry
