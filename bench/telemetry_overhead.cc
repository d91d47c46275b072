// bench/telemetry_overhead: the CPU the telemetry stage costs, against the
// psutil sampler users ran before it (telemetry_overhead_peer.py), both doing
// the same work, measured the same way in the same run.
//  1. The night-run case, the headline: the real `nightshift telemetry` stage
//     and the psutil peer, both sampling at 10 Hz and publishing each sample
//     as msgpack on telemetry.host.<host> through a ZeroMQ PUB connected to
//     the same broker with the shipped bus options, while a subscriber is
//     attached, so every sample crosses the broker. CPU of every thread of
//     each process over the same window (/proc/<pid>/task/*/schedstat), per
//     sample received and as a share of one core, and the ratio.
//  2. The same with nobody subscribed (each PUB drops its samples in-process).
//  3. The sampler alone in a tight loop, no publish: nightshift's HostSampler
//     against the peer's Sampler.sample(), CPU per sample.
// Same work: the stage runs with no GPU backend, as the peer has none, so both
// sample the host only: CPU %, memory, load, disk "/", and RSS and CPU % of the
// processes named nightshift* (found again every 5 s). The stage also checks
// its alert rules and listens for inventory requests; the peer does neither,
// so that work counts against nightshift.
//
// Usage: bench_telemetry_overhead [window_s=10]
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "broker/bus.h"
#include "stages/telemetry/host_sampler.h"
#include "stages/telemetry/text_file.h"
#include "tests/support/child_process.h"

using namespace nightshift;
using namespace std::chrono_literals;

namespace {

constexpr int kSamples = 3000;
constexpr int kIntervalMs = 100;
constexpr double kTargetPct = 0.5;

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Ours: one host sample, the stage's sampler, on the clock the stage gives it.
double ours_us_per_sample() {
  telemetry::HostSampler host("/proc", {"/"});
  double start = cpu_seconds();
  for (int i = 0; i < kSamples; ++i) {
    HostSample sample;
    host.sample(static_cast<int64_t>(i) * kIntervalMs * 1'000'000, sample);
  }
  return (cpu_seconds() - start) / kSamples * 1e6;
}

// The peer's: the same count in its own tight loop (it reports CPU time of
// the loop only, not the interpreter's start-up).
double peer_us_per_sample() {
  testing::ChildProcess peer({"/usr/bin/python3", TELEMETRY_PEER_SCRIPT, "tight", std::to_string(kSamples)});
  auto exit_status = peer.wait(120s);
  if (exit_status != 0) return NAN;
  auto report = nlohmann::json::parse(peer.stdout_text(), nullptr, false);
  return report.is_object() ? report["us_per_sample"].get<double>() : NAN;
}

// CPU time of every thread of `pid` (ZeroMQ runs I/O threads) in ns, and how
// many times its threads were scheduled in (wake-ups, roughly), from
// /proc/<pid>/task/*/schedstat: nanosecond resolution, where /proc/<pid>/stat
// counts 10 ms ticks, too coarse for a 0.5 % budget over a few seconds.
struct ThreadUse {
  uint64_t cpu_ns = 0;
  uint64_t runs = 0;
  std::map<std::string, uint64_t> cpu_ns_by_name;  // by thread name (comm)
};
ThreadUse use_of(pid_t pid) {
  std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  ThreadUse use;
  for (const auto& tid : telemetry::list_dir(task_dir)) {
    auto text = telemetry::read_text_file(task_dir + "/" + tid + "/schedstat");
    if (!text) continue;
    unsigned long long cpu_ns = 0, wait_ns = 0, runs = 0;
    if (std::sscanf(text->c_str(), "%llu %llu %llu", &cpu_ns, &wait_ns, &runs) != 3) continue;
    use.cpu_ns += cpu_ns;
    use.runs += runs;
    auto comm = telemetry::read_text_file(task_dir + "/" + tid + "/comm");
    std::string name = tid == std::to_string(pid) ? std::string("main") : comm ? *comm : "?";
    while (!name.empty() && name.back() == '\n') name.pop_back();
    use.cpu_ns_by_name[name] += cpu_ns;
  }
  return use;
}

struct Usage {
  double cpu_s = 0;
  double cpu_pct = 0;     // of one core
  double runs_per_s = 0;  // all threads
  std::string by_thread;  // "main 0.21 %, ZMQbg/IO/0 0.15 %, ..."
};

// What each of `pids` used over the same `window`; `during` runs meanwhile.
template <typename During>
std::vector<Usage> usage_of(const std::vector<pid_t>& pids, std::chrono::seconds window, double& wall_s,
                            During during) {
  std::vector<ThreadUse> before;
  for (pid_t pid : pids) before.push_back(use_of(pid));
  auto t0 = std::chrono::steady_clock::now();
  during(t0 + window);
  wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<Usage> usage;
  for (std::size_t i = 0; i < pids.size(); ++i) {
    ThreadUse after = use_of(pids[i]);
    Usage u;
    u.cpu_s = static_cast<double>(after.cpu_ns - before[i].cpu_ns) / 1e9;
    u.cpu_pct = 100.0 * u.cpu_s / wall_s;
    u.runs_per_s = static_cast<double>(after.runs - before[i].runs) / wall_s;
    for (const auto& [name, ns] : after.cpu_ns_by_name) {
      auto was = before[i].cpu_ns_by_name.find(name);
      uint64_t delta = ns - (was == before[i].cpu_ns_by_name.end() ? 0 : was->second);
      char part[96];
      std::snprintf(part, sizeof part, "%s%s %.3f %%", u.by_thread.empty() ? "" : ", ", name.c_str(),
                    100.0 * static_cast<double>(delta) / 1e9 / wall_s);
      u.by_thread += part;
    }
    usage.push_back(u);
  }
  return usage;
}

// The bus options and disks the stage uses, for the peer's socket and sampler.
std::string peer_options(const config::Config& c) {
  nlohmann::json options = {{"disks", c.telemetry.disks},
                            {"linger_ms", c.bus.linger_ms},
                            {"max_message_bytes", c.bus.max_message_bytes},
                            {"send_hwm", c.bus.send_hwm},
                            {"recv_hwm", c.bus.recv_hwm},
                            {"heartbeat_ivl_ms", c.bus.heartbeat_ivl_ms},
                            {"heartbeat_timeout_ms", c.bus.heartbeat_timeout_ms},
                            {"heartbeat_ttl_ms", c.bus.heartbeat_ttl_ms}};
  return options.dump();
}

void print_pair(const char* label, const Usage& stage, const Usage& peer, double stage_samples,
                double peer_samples) {
  double stage_us = stage.cpu_s / stage_samples * 1e6, peer_us = peer.cpu_s / peer_samples * 1e6;
  std::printf("%s\n", label);
  std::printf("  nightshift telemetry: %7.1f us CPU per sample, %.3f %% of one core (target %.1f %%), "
              "%.1f wake-ups/s\n    by thread: %s\n",
              stage_us, stage.cpu_pct, kTargetPct, stage.runs_per_s, stage.by_thread.c_str());
  std::printf("  psutil sampler:       %7.1f us CPU per sample, %.3f %% of one core, %.1f wake-ups/s\n"
              "    by thread: %s\n",
              peer_us, peer.cpu_pct, peer.runs_per_s, peer.by_thread.c_str());
  std::printf("  ratio nightshift/psutil (CPU per sample): %.2f\n", stage_us / peer_us);
}

// The headline: a subscriber attached (in a night run the persister
// subscribes to telemetry.*), so both sides' samples leave their process and
// cross the broker. Samples are counted per publisher as they arrive.
bool report_with_subscriber(pid_t stage, pid_t peer, const config::BusConfig& bus, int window_s) {
  zmq::context_t context(1);
  auto consumer = bus::Subscriber::connect(context, bus, {"telemetry.host"});
  if (!consumer) return std::fprintf(stderr, "%s\n", consumer.error().c_str()), false;
  std::map<int64_t, int> received;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while ((received[stage] == 0 || received[peer] == 0) && std::chrono::steady_clock::now() < deadline) {
    if (auto message = consumer->receive(100ms)) ++received[message->frame.header.src.pid];
  }
  if (received[stage] == 0 || received[peer] == 0) {
    std::fprintf(stderr, "samples reached the subscriber: nightshift %d, psutil %d\n", received[stage],
                 received[peer]);
    return false;
  }
  while (consumer->receive(0ms)) {
  }
  received.clear();
  double wall_s = 0;
  auto usage = usage_of({stage, peer}, std::chrono::seconds(window_s), wall_s, [&](auto until) {
    while (std::chrono::steady_clock::now() < until) {
      if (auto message = consumer->receive(50ms)) ++received[message->frame.header.src.pid];
    }
  });
  char label[160];
  std::snprintf(label, sizeof label,
                "NIGHT RUN (subscriber attached), 10 Hz over %.1f s: samples received nightshift %d, psutil %d",
                wall_s, received[stage], received[peer]);
  print_pair(label, usage[0], usage[1], received[stage], received[peer]);
  return true;
}

// Nobody subscribed: the broker forwards no subscription, each PUB drops
// its samples in-process. Samples are the window at 10 Hz.
void report_unsubscribed(pid_t stage, pid_t peer, int window_s) {
  std::this_thread::sleep_for(1500ms);  // the unsubscription reaches both PUBs
  double wall_s = 0;
  auto usage = usage_of({stage, peer}, std::chrono::seconds(window_s), wall_s,
                        [](auto until) { std::this_thread::sleep_until(until); });
  char label[160];
  std::snprintf(label, sizeof label, "nobody subscribed, 10 Hz over %.1f s (samples: the window at 10 Hz)",
                wall_s);
  double samples = wall_s * 1000 / kIntervalMs;
  print_pair(label, usage[0], usage[1], samples, samples);
}

}  // namespace

int main(int argc, char** argv) {
  int window_s = argc > 1 ? std::atoi(argv[1]) : 10;
  double ours = ours_us_per_sample();
  double peer = peer_us_per_sample();
  std::printf("sampler alone, tight loop of %d host samples, no publish: nightshift %.1f us, "
              "psutil %.1f us CPU per sample, ratio %.2f\n", kSamples, ours, peer, ours / peer);

  // The stage as users run it, with the shipped bus defaults (the test bus
  // shortens the ZMTP heartbeats to 200 ms for tests) and no GPU backend.
  const config::BusConfig shipped;
  auto bus = testing::make_test_bus(
      "telemetry:\n  interval_ms: " + std::to_string(kIntervalMs) + "\n  backends: []\n"
      "logging:\n  level: warn\n"
      "bus:\n  heartbeat_ivl_ms: " + std::to_string(shipped.heartbeat_ivl_ms) +
      "\n  heartbeat_timeout_ms: " + std::to_string(shipped.heartbeat_timeout_ms) +
      "\n  heartbeat_ttl_ms: " + std::to_string(shipped.heartbeat_ttl_ms) + "\n");
  std::printf("bus: shipped defaults (ZMTP heartbeat every %d ms); host samples only on both sides\n",
              shipped.heartbeat_ivl_ms);
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {testing::nightshift_binary(), "--config", bus.config_path});
    return std::make_unique<testing::ChildProcess>(args);
  };
  auto broker = run({"broker"});
  auto stage = run({"telemetry"});
  testing::ChildProcess psutil_peer({"/usr/bin/python3", TELEMETRY_PEER_SCRIPT, "publish", bus.config.bus.events_in,
                                     std::to_string(kIntervalMs), peer_options(bus.config)});
  std::this_thread::sleep_for(2000ms);  // past start-up (config, imports, first inventory)
  if (!report_with_subscriber(stage->pid(), psutil_peer.pid(), bus.config.bus, window_s)) return 1;
  report_unsubscribed(stage->pid(), psutil_peer.pid(), window_s);
  int peer_exit = psutil_peer.stop();
  int stage_exit = stage->stop();
  broker->stop();
  if (stage_exit != 0 || peer_exit != 0) {
    std::fprintf(stderr, "telemetry stage exited %d: %s\npsutil peer exited %d: %s\n", stage_exit,
                 stage->stderr_text().c_str(), peer_exit, psutil_peer.stderr_text().c_str());
    return 1;
  }
  return 0;
}
