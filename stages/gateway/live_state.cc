#include "stages/gateway/live_state.h"

#include <fmt/format.h>

#include "base/process.h"
#include "schema/wire_enum.h"

namespace nightshift::gateway {
namespace {

constexpr std::size_t kRecentJobs = 50;
constexpr std::size_t kRecentFailures = 20;
constexpr std::size_t kRecentAlerts = 100;
constexpr std::size_t kMaxWorkers = 4096;
constexpr std::size_t kMaxGpus = 1024;
// Whatever the interval, the history ring never holds more than this.
constexpr std::size_t kMaxHistorySamples = 200'000;
constexpr int64_t kNsPerMinute = 60'000'000'000;

int rank(const std::string& status) {
  return status == "critical" ? 2 : status == "warning" ? 1 : 0;
}

void add_optional(nlohmann::json& out, const char* key, const std::optional<double>& value) {
  out[key] = value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

// "job.<state>.<run>" -> run.
std::string topic_run(const std::string& topic) {
  auto first = topic.find('.');
  auto second = first == std::string::npos ? first : topic.find('.', first + 1);
  return second == std::string::npos ? std::string() : topic.substr(second + 1);
}

template <typename T>
void push_bounded(std::deque<T>& ring, T value, std::size_t cap) {
  ring.push_back(std::move(value));
  while (ring.size() > cap) ring.pop_front();
}

}  // namespace

std::string study_symbol(const std::string& study) { return study.substr(0, study.find('.')); }

GpuHealth judge_gpu(const GpuSample& gpu, const std::vector<config::AlertRule>& rules) {
  GpuHealth health;
  auto judge = [&](std::string_view kind, double value) {
    for (const auto& rule : rules) {
      if (rule.kind != kind || value <= rule.threshold) continue;
      if (rank(rule.level) > rank(health.status)) health.status = rule.level;
      health.issues.push_back(fmt::format("{} {:.1f}{} > {:.0f}{} ({})", kind, value, rule.unit,
                                          rule.threshold, rule.unit, rule.level));
    }
  };
  if (gpu.temp_c) judge(config::kGpuTemp, *gpu.temp_c);
  if (gpu.mem_used_bytes && gpu.mem_total_bytes && *gpu.mem_total_bytes > 0) {
    judge(config::kGpuVram,
          100.0 * static_cast<double>(*gpu.mem_used_bytes) / static_cast<double>(*gpu.mem_total_bytes));
  }
  return health;
}

nlohmann::json gpu_json(const GpuSample& gpu, const GpuHealth& health) {
  nlohmann::json out;
  out["id"] = gpu.index;
  out["host"] = gpu.host;
  out["name"] = gpu.name;
  out["backend"] = gpu.backend;
  out["simulated"] = gpu.simulated;
  add_optional(out, "temperature", gpu.temp_c);
  add_optional(out, "temperature_junction", gpu.temp_junction_c);
  add_optional(out, "temperature_memory", gpu.temp_mem_c);
  add_optional(out, "utilization", gpu.util_pct);
  out["memory_used"] = gpu.mem_used_bytes ? nlohmann::json(*gpu.mem_used_bytes) : nlohmann::json();
  out["memory_total"] = gpu.mem_total_bytes ? nlohmann::json(*gpu.mem_total_bytes) : nlohmann::json();
  if (gpu.mem_used_bytes && gpu.mem_total_bytes && *gpu.mem_total_bytes > 0) {
    out["memory_percent"] = 100.0 * static_cast<double>(*gpu.mem_used_bytes) /
                            static_cast<double>(*gpu.mem_total_bytes);
  } else {
    out["memory_percent"] = nullptr;
  }
  add_optional(out, "power", gpu.power_w);
  add_optional(out, "sm_clock_mhz", gpu.sm_clock_mhz);
  add_optional(out, "mem_clock_mhz", gpu.mem_clock_mhz);
  add_optional(out, "fan_rpm", gpu.fan_rpm);
  add_optional(out, "fan_percent", gpu.fan_pct);
  out["health"] = {{"status", health.status}, {"issues", health.issues}};
  return out;
}

LiveState::LiveState(const config::Config& config)
    : rules_(config::rules_from_config(config.telemetry.alerts)),
      history_ns_(static_cast<int64_t>(config.dashboard.history_minutes) * kNsPerMinute),
      broker_stats_(nlohmann::json::object()) {}

void LiveState::take(const bus::Envelope& envelope) {
  const Header& header = envelope.frame.header;
  const std::string& type = header.type;
  int64_t ts_ns = header.ts_ns;
  if (type == GpuSample::kType) {
    if (auto gpu = decode_payload<GpuSample>(envelope.frame)) take_gpu(ts_ns, std::move(*gpu));
  } else if (type == HostSample::kType) {
    if (auto host = decode_payload<HostSample>(envelope.frame)) {
      std::lock_guard lock(mutex_);
      host_ = std::move(*host);
    }
  } else if (type == GpuInventory::kType) {
    if (auto inventory = decode_payload<GpuInventory>(envelope.frame)) {
      std::lock_guard lock(mutex_);
      inventory_ = std::move(*inventory);
    }
  } else if (type == RunProgress::kType) {
    if (auto progress = decode_payload<RunProgress>(envelope.frame)) {
      std::lock_guard lock(mutex_);
      progress_ = std::move(*progress);
    }
  } else if (type == JobEvent::kType) {
    if (auto event = decode_payload<JobEvent>(envelope.frame))
      take_job_event(ts_ns, envelope.topic, std::move(*event));
  } else if (type == Heartbeat::kType) {
    if (auto beat = decode_payload<Heartbeat>(envelope.frame)) {
      std::lock_guard lock(mutex_);
      std::string id = beat->host + "/" + beat->worker_id;
      if (workers_.size() < kMaxWorkers || workers_.count(id))
        workers_[id] = WorkerSeen{ts_ns, std::move(*beat)};
    }
  } else if (type == Alert::kType) {
    if (auto alert = decode_payload<Alert>(envelope.frame))
      take_alert(ts_ns, envelope.topic, std::move(*alert));
  }
  std::lock_guard lock(mutex_);
  last_message_ns_ = now_ns();
  ++messages_;
}

void LiveState::take_gpu(int64_t ts_ns, GpuSample sample) {
  std::lock_guard lock(mutex_);
  auto key = std::make_pair(sample.host, sample.index);
  if (gpus_.size() >= kMaxGpus && !gpus_.count(key)) return;
  gpus_ts_ns_ = std::max(gpus_ts_ns_, ts_ns);
  ++gpus_version_;
  gpu_history_.emplace_back(ts_ns, sample);
  gpus_[key] = std::move(sample);
  while (!gpu_history_.empty() && (gpu_history_.front().first < ts_ns - history_ns_ ||
                                   gpu_history_.size() > kMaxHistorySamples)) {
    gpu_history_.pop_front();
  }
}

void LiveState::take_job_event(int64_t ts_ns, const std::string& topic, JobEvent event) {
  std::lock_guard lock(mutex_);
  ++job_event_counts_[std::string(wire_text(event.state))];
  JobEventSeen seen{ts_ns, topic_run(topic), std::move(event)};
  if (seen.event.state == JobStep::failed) push_bounded(recent_failures_, seen, kRecentFailures);
  push_bounded(recent_jobs_, std::move(seen), kRecentJobs);
}

void LiveState::take_alert(int64_t ts_ns, const std::string& topic, Alert alert) {
  std::lock_guard lock(mutex_);
  AlertSeen seen{ts_ns, topic, std::move(alert)};
  if (seen.alert.state == "firing") {
    if (firing_.size() < kMaxGpus || firing_.count(topic)) firing_[topic] = seen;
  } else {
    firing_.erase(topic);
  }
  push_bounded(recent_alerts_, std::move(seen), kRecentAlerts);
}

void LiveState::set_broker_stats(nlohmann::json stats) {
  std::lock_guard lock(mutex_);
  broker_stats_ = std::move(stats);
}

LiveState::Gpus LiveState::gpus() const {
  std::lock_guard lock(mutex_);
  Gpus out;
  out.ts_ns = gpus_ts_ns_;
  out.version = gpus_version_;
  for (const auto& [key, sample] : gpus_) out.samples.push_back(sample);
  return out;
}

uint64_t LiveState::gpus_version() const {
  std::lock_guard lock(mutex_);
  return gpus_version_;
}

std::optional<GpuInventory> LiveState::inventory() const {
  std::lock_guard lock(mutex_);
  return inventory_;
}

std::optional<HostSample> LiveState::host() const {
  std::lock_guard lock(mutex_);
  return host_;
}

std::optional<RunProgress> LiveState::progress() const {
  std::lock_guard lock(mutex_);
  return progress_;
}

std::vector<std::pair<int64_t, GpuSample>> LiveState::gpu_history(int minutes) const {
  std::lock_guard lock(mutex_);
  int64_t since = now_ns() - static_cast<int64_t>(minutes) * kNsPerMinute;
  std::vector<std::pair<int64_t, GpuSample>> out;
  for (const auto& entry : gpu_history_) {
    if (entry.first >= since) out.push_back(entry);
  }
  return out;
}

std::vector<JobEventSeen> LiveState::recent_jobs() const {
  std::lock_guard lock(mutex_);
  return {recent_jobs_.begin(), recent_jobs_.end()};
}

std::vector<JobEventSeen> LiveState::recent_failures() const {
  std::lock_guard lock(mutex_);
  return {recent_failures_.begin(), recent_failures_.end()};
}

std::map<std::string, WorkerSeen> LiveState::workers() const {
  std::lock_guard lock(mutex_);
  return workers_;
}

std::vector<AlertSeen> LiveState::active_alerts() const {
  std::lock_guard lock(mutex_);
  std::vector<AlertSeen> out;
  for (const auto& [topic, seen] : firing_) out.push_back(seen);
  return out;
}

std::vector<AlertSeen> LiveState::recent_alerts() const {
  std::lock_guard lock(mutex_);
  return {recent_alerts_.begin(), recent_alerts_.end()};
}

std::map<std::string, uint64_t> LiveState::job_event_counts() const {
  std::lock_guard lock(mutex_);
  return job_event_counts_;
}

nlohmann::json LiveState::broker_stats() const {
  std::lock_guard lock(mutex_);
  return broker_stats_;
}

int64_t LiveState::last_message_ns() const {
  std::lock_guard lock(mutex_);
  return last_message_ns_;
}

uint64_t LiveState::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

}  // namespace nightshift::gateway
