// LiveState: what the gateway has heard on the bus, kept for the HTTP and
// WebSocket handlers. The bus thread feeds it (take); handler threads read
// copies under its mutex. Everything is bounded: latest sample per GPU and
// host, a ring of GPU samples for history_minutes, the last few job events,
// failures and alerts.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/bus.h"
#include "config/alert_rules.h"
#include "config/config.h"
#include "schema/job_messages.h"
#include "schema/telemetry_messages.h"

namespace nightshift::gateway {

// A GPU's health by the telemetry alert rules: "healthy", "warning" or
// "critical", with the reasons.
struct GpuHealth {
  std::string status = "healthy";
  std::vector<std::string> issues;
};
GpuHealth judge_gpu(const GpuSample& gpu, const std::vector<config::AlertRule>& rules);

// The seed-compatible JSON of one GPU sample (id, name, temperature, ...,
// health); the shape /gpu/stats, /ws/gpu-stats and the analytics paths use.
nlohmann::json gpu_json(const GpuSample& gpu, const GpuHealth& health);

struct JobEventSeen {
  int64_t ts_ns = 0;
  std::string run;
  JobEvent event;
};

struct WorkerSeen {
  int64_t last_ns = 0;
  Heartbeat heartbeat;
};

struct AlertSeen {
  int64_t ts_ns = 0;
  std::string topic;
  Alert alert;
};

class LiveState {
 public:
  explicit LiveState(const config::Config& config);

  // Takes one well-formed bus message (any topic; unknown types are ignored).
  void take(const bus::Envelope& envelope);
  void set_broker_stats(nlohmann::json stats);

  // Copies for the handlers.
  struct Gpus {
    std::vector<GpuSample> samples;  // latest per (host, index), in key order
    int64_t ts_ns = 0;               // of the newest one
    uint64_t version = 0;            // grows with every sample taken
  };
  Gpus gpus() const;
  uint64_t gpus_version() const;
  std::optional<GpuInventory> inventory() const;
  std::optional<HostSample> host() const;
  std::optional<RunProgress> progress() const;
  // GPU samples of the last `minutes`, oldest first: (ts_ns, sample).
  std::vector<std::pair<int64_t, GpuSample>> gpu_history(int minutes) const;
  std::vector<JobEventSeen> recent_jobs() const;
  std::vector<JobEventSeen> recent_failures() const;
  std::map<std::string, WorkerSeen> workers() const;
  std::vector<AlertSeen> active_alerts() const;  // firing now, as heard
  std::vector<AlertSeen> recent_alerts() const;
  std::map<std::string, uint64_t> job_event_counts() const;  // by step, since start
  nlohmann::json broker_stats() const;
  int64_t last_message_ns() const;
  uint64_t messages() const;

  const std::vector<config::AlertRule>& rules() const { return rules_; }

 private:
  void take_gpu(int64_t ts_ns, GpuSample sample);
  void take_job_event(int64_t ts_ns, const std::string& topic, JobEvent event);
  void take_alert(int64_t ts_ns, const std::string& topic, Alert alert);

  std::vector<config::AlertRule> rules_;
  int64_t history_ns_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, uint32_t>, GpuSample> gpus_;
  int64_t gpus_ts_ns_ = 0;
  uint64_t gpus_version_ = 0;
  std::deque<std::pair<int64_t, GpuSample>> gpu_history_;
  std::optional<GpuInventory> inventory_;
  std::optional<HostSample> host_;
  std::optional<RunProgress> progress_;
  std::deque<JobEventSeen> recent_jobs_;
  std::deque<JobEventSeen> recent_failures_;
  std::map<std::string, WorkerSeen> workers_;
  std::map<std::string, AlertSeen> firing_;  // by topic
  std::deque<AlertSeen> recent_alerts_;
  std::map<std::string, uint64_t> job_event_counts_;
  nlohmann::json broker_stats_;
  int64_t last_message_ns_ = 0;
  uint64_t messages_ = 0;
};

// "BTCUSDT" of a study "BTCUSDT.1h.h3.logreg_l2".
std::string study_symbol(const std::string& study);

}  // namespace nightshift::gateway
