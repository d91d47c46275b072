#include "stages/gateway/metrics_exposition.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <mutex>

#include "schema/wire_enum.h"

namespace nightshift::gateway {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;

struct Metrics::Families {
  std::mutex mutex;  // scrapes may come from more than one server thread
  prometheus::Registry registry;
  Family<Gauge>& gpu_temp = BuildGauge().Name("nightshift_gpu_temperature_celsius")
      .Help("GPU temperature (edge sensor)").Register(registry);
  Family<Gauge>& gpu_util = BuildGauge().Name("nightshift_gpu_utilization_ratio")
      .Help("GPU utilisation, 0..1").Register(registry);
  Family<Gauge>& gpu_mem_used = BuildGauge().Name("nightshift_gpu_memory_used_bytes")
      .Help("GPU memory in use").Register(registry);
  Family<Gauge>& gpu_mem_total = BuildGauge().Name("nightshift_gpu_memory_total_bytes")
      .Help("GPU memory in all").Register(registry);
  Family<Gauge>& gpu_power = BuildGauge().Name("nightshift_gpu_power_watts")
      .Help("GPU power draw").Register(registry);
  Family<Gauge>& host_cpu = BuildGauge().Name("nightshift_host_cpu_utilization_ratio")
      .Help("Host CPU utilisation, 0..1").Register(registry);
  Family<Gauge>& host_mem = BuildGauge().Name("nightshift_host_memory_used_bytes")
      .Help("Host memory in use").Register(registry);
  Family<Gauge>& jobs = BuildGauge().Name("nightshift_jobs")
      .Help("Jobs of the current run by state").Register(registry);
  Family<Counter>& trials = BuildCounter().Name("nightshift_trials_total")
      .Help("Job attempts heard by this gateway, by outcome").Register(registry);
  Family<Gauge>& eta = BuildGauge().Name("nightshift_run_eta_seconds")
      .Help("Estimated seconds until the current run ends").Register(registry);
  Family<Gauge>& alerts = BuildGauge().Name("nightshift_alerts_active")
      .Help("Alerts firing now, by level").Register(registry);
  Family<Counter>& broker_messages = BuildCounter().Name("nightshift_broker_messages_total")
      .Help("Messages the broker forwarded, by device").Register(registry);
  Family<Counter>& broker_bytes = BuildCounter().Name("nightshift_broker_bytes_total")
      .Help("Bytes the broker forwarded, by device").Register(registry);
  Family<Counter>& broker_dropped = BuildCounter().Name("nightshift_broker_dropped_total")
      .Help("Frames the broker dropped, by device").Register(registry);
  Family<Gauge>& broker_peers = BuildGauge().Name("nightshift_broker_peers")
      .Help("Peers connected to the broker, by device and side").Register(registry);
  Family<Gauge>& ws_clients = BuildGauge().Name("nightshift_gateway_websocket_clients")
      .Help("WebSocket clients connected").Register(registry);
  Family<Counter>& ws_dropped = BuildCounter().Name("nightshift_gateway_websocket_dropped_total")
      .Help("WebSocket clients closed for falling behind").Register(registry);
  Family<Counter>& bus_messages = BuildCounter().Name("nightshift_gateway_bus_messages_total")
      .Help("Bus messages the gateway received").Register(registry);
};

namespace {

// prometheus-cpp counters only go up: raise one to a total seen elsewhere.
void raise_to(Counter& counter, double total) {
  if (total > counter.Value()) counter.Increment(total - counter.Value());
}

double number(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace

Metrics::Metrics() : families_(std::make_unique<Families>()) {}
Metrics::~Metrics() = default;

std::string Metrics::scrape(const LiveState& live, const StreamCounters& streams) {
  Families& f = *families_;
  std::lock_guard lock(f.mutex);
  for (const auto& gpu : live.gpus().samples) {
    prometheus::Labels labels{{"host", gpu.host}, {"gpu", std::to_string(gpu.index)},
                              {"backend", gpu.backend}};
    if (gpu.temp_c) f.gpu_temp.Add(labels).Set(*gpu.temp_c);
    if (gpu.util_pct) f.gpu_util.Add(labels).Set(*gpu.util_pct / 100.0);
    if (gpu.mem_used_bytes) f.gpu_mem_used.Add(labels).Set(static_cast<double>(*gpu.mem_used_bytes));
    if (gpu.mem_total_bytes) f.gpu_mem_total.Add(labels).Set(static_cast<double>(*gpu.mem_total_bytes));
    if (gpu.power_w) f.gpu_power.Add(labels).Set(*gpu.power_w);
  }
  if (auto host = live.host()) {
    if (host->cpu_pct) f.host_cpu.Add({{"host", host->host}}).Set(*host->cpu_pct / 100.0);
    f.host_mem.Add({{"host", host->host}}).Set(static_cast<double>(host->mem_used_bytes));
  }
  if (auto p = live.progress()) {
    uint64_t finished = p->done + p->skipped + p->running;
    f.jobs.Add({{"state", "done"}}).Set(static_cast<double>(p->done));
    f.jobs.Add({{"state", "running"}}).Set(static_cast<double>(p->running));
    f.jobs.Add({{"state", "skipped"}}).Set(static_cast<double>(p->skipped));
    f.jobs.Add({{"state", "failed"}}).Set(static_cast<double>(p->failed));
    f.jobs.Add({{"state", "pending"}}).Set(p->total > finished ? static_cast<double>(p->total - finished) : 0.0);
    if (p->eta_s) f.eta.Add({}).Set(*p->eta_s);
  }
  for (const auto& [step, count] : live.job_event_counts()) {
    raise_to(f.trials.Add({{"status", step}}), static_cast<double>(count));
  }
  std::map<std::string, double> levels{{"warning", 0}, {"critical", 0}};
  for (const auto& seen : live.active_alerts()) levels[seen.alert.level] += 1;
  for (const auto& [level, count] : levels) f.alerts.Add({{"level", level}}).Set(count);
  nlohmann::json broker = live.broker_stats();
  if (auto devices = broker.find("devices"); devices != broker.end() && devices->is_object()) {
    for (const auto& [name, d] : devices->items()) {
      if (!d.is_object()) continue;
      raise_to(f.broker_messages.Add({{"device", name}}), number(d, "messages"));
      raise_to(f.broker_bytes.Add({{"device", name}}), number(d, "bytes"));
      raise_to(f.broker_dropped.Add({{"device", name}}), number(d, "dropped"));
      f.broker_peers.Add({{"device", name}, {"side", "in"}}).Set(number(d, "peers_in"));
      f.broker_peers.Add({{"device", name}, {"side", "out"}}).Set(number(d, "peers_out"));
    }
  }
  f.ws_clients.Add({}).Set(static_cast<double>(streams.clients.load()));
  raise_to(f.ws_dropped.Add({}), static_cast<double>(streams.dropped.load()));
  raise_to(f.bus_messages.Add({}), static_cast<double>(live.messages()));
  return prometheus::TextSerializer().Serialize(f.registry.Collect());
}

}  // namespace nightshift::gateway
