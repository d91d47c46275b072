#include "stages/telemetry/telemetry_stage.h"

#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "broker/control_client.h"
#include "schema/event_messages.h"
#include "schema/topics.h"
#include "base/process.h"

namespace nightshift::telemetry {
namespace {

// PUB drops what it sends before its connection is up; the first inventory
// waits this long so a subscriber that is already there sees it.
constexpr int64_t kConnectSettleNs = 300'000'000;

double pct(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

// The calling thread's signal mask without SIGINT and SIGTERM.
sigset_t mask_letting_stop_signals_through() {
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  sigdelset(&mask, SIGINT);
  sigdelset(&mask, SIGTERM);
  return mask;
}

// Blocks SIGINT/SIGTERM in this thread for its lifetime, so that they are
// taken only inside the ppoll() of wait_until: a signal that comes while a
// sample is being taken is pending there and interrupts the very next wait,
// instead of landing between the stop check and the wait and going unseen
// for a whole interval. (ZeroMQ's own threads block every signal.)
class StopSignalsOnlyWhileWaiting {
 public:
  StopSignalsOnlyWhileWaiting() {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &previous_);
  }
  ~StopSignalsOnlyWhileWaiting() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  StopSignalsOnlyWhileWaiting(const StopSignalsOnlyWhileWaiting&) = delete;
  StopSignalsOnlyWhileWaiting& operator=(const StopSignalsOnlyWhileWaiting&) = delete;

 private:
  sigset_t previous_;
};

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
      host_topic_(topics::telemetry_host(host_)),
      fleet_(std::move(fleet)),
      host_sampler_(config.proc_root, config.disks),
      alerts_(rules_from_config(config.alerts),
              static_cast<int64_t>(config.alerts.min_duration_ms) * 1'000'000, host_),
      publisher_(std::move(publisher)),
      requests_(std::move(requests)),
      requests_fd_(requests_.socket().get(zmq::sockopt::fd)),
      wait_mask_(mask_letting_stop_signals_through()) {
  for (std::size_t i = 0; i < fleet_.device_count(); ++i) {
    gpu_topics_.push_back(topics::telemetry_gpu(host_, static_cast<uint32_t>(i)));
  }
}

void TelemetryStage::sample_and_publish(int64_t mono_ns) {
  HostSample host;
  host.host = host_;
  host_sampler_.sample(mono_ns, host);
  std::vector<GpuSample> gpus = fleet_.sample(mono_ns);
  // Encode everything first, then send back to back, so ZeroMQ's I/O thread,
  // woken by the first send, finds the whole tick queued and writes it to
  // the broker in one TCP send (strace: one sendto per tick). With a
  // subscriber, the loopback TCP send is the largest single cost (perf).
  bodies_.clear();
  bodies_.push_back(encode(publisher_.next_header(), host));
  for (const auto& gpu : gpus) bodies_.push_back(encode(publisher_.next_header(), gpu));
  publisher_.publish_raw(host_topic_, bodies_[0]);
  for (std::size_t i = 0; i < gpus.size(); ++i) {
    publisher_.publish_raw(gpu_topics_.at(gpus[i].index), bodies_[i + 1]);
  }
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
    if (!requests_drained_) answer_requests();
    int64_t left_ns = deadline_ns - mono_now_ns();
    if (left_ns <= 0) return;
    // A bare ppoll on the socket's fd: zmq_poll would add a check of the
    // socket (getpid + poll) before and after every wait, and rounds the
    // timeout to milliseconds, which costs an extra wake-up per tick.
    pollfd fd{requests_fd_, POLLIN, 0};
    timespec timeout{left_ns / 1'000'000'000, left_ns % 1'000'000'000};
    if (::ppoll(&fd, 1, &timeout, &wait_mask_) > 0) requests_drained_ = false;
    // 0: the deadline; -1 (EINTR): a stop signal, seen by the loop.
  }
}

void TelemetryStage::answer_requests() {
  while (auto envelope = requests_.receive(std::chrono::milliseconds(0))) {
    auto event = decode_payload<Event>(envelope->frame);
    if (event && event->name == kInventoryRequestTopic) {
      spdlog::info("inventory requested by {}", envelope->frame.header.src.host);
      publish_inventory();
    }
  }
  // An empty receive(0) means libzmq has just processed the socket's pending
  // commands and found no message, so the fd fires again on the next one.
  requests_drained_ = true;
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
  if (!config.telemetry.enabled) {
    spdlog::info("telemetry is disabled in the config (telemetry.enabled: false)");
    return 0;
  }
  zmq::context_t context(1);
  if (auto ours = bus::check_broker_instance(context, config.bus, bus::kStageBrokerWait); !ours) {
    spdlog::error("{}", ours.error());
    return 1;
  }
  auto publisher = bus::Publisher::connect(context, config.bus, bus::self_source("telemetry"));
  auto requests = bus::Subscriber::connect(context, config.bus, {kInventoryRequestTopic});
  if (!publisher || !requests) {
    spdlog::error("cannot connect to the bus: {}",
                  !publisher ? publisher.error() : requests.error());
    return 1;
  }
  std::string host = host_name();
  StopSignalsOnlyWhileWaiting signals;
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
