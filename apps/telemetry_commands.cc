// nightshift telemetry | gpu | check
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "apps/cli_context.h"
#include "schema/json.h"
#include "base/process.h"
#include "stages/telemetry/gpu_fleet.h"
#include "stages/telemetry/host_sampler.h"
#include "stages/telemetry/telemetry_stage.h"

namespace nightshift::cli {
namespace {

using telemetry::GpuFleet;

// Device names come from vendor libraries; never throw on odd bytes.
constexpr auto kReplaceBadUtf8 = nlohmann::json::error_handler_t::replace;

int run_telemetry(const GlobalOptions& global) {
  auto config = begin_command("telemetry", global);
  if (!config) return 2;
  return telemetry::run_telemetry_stage(*config);
}

struct GpuOptions {
  bool json = false;
  bool watch = false;
  double interval_s = 1.0;
};

std::string opt(const std::optional<double>& v, const char* unit, int decimals = 0) {
  return v ? fmt::format("{:.{}f}{}", *v, decimals, unit) : "n/a";
}

std::string gib(const std::optional<uint64_t>& bytes) {
  return bytes ? fmt::format("{:.1f}", static_cast<double>(*bytes) / (1u << 30)) : "n/a";
}

void print_table(const std::vector<GpuSample>& gpus, const HostSample& host,
                 const GpuFleet& fleet) {
  std::cout << fmt::format("nightshift gpu — {}\n", host.host);
  std::cout << fmt::format("{:>2}  {:<10} {:<28} {:>6} {:>5} {:>15} {:>7} {:>9} {:>9} {:>9}\n", "#",
                           "backend", "name", "temp", "util", "mem GiB", "power", "sm clk",
                           "mem clk", "fan");
  for (const auto& g : gpus) {
    std::cout << fmt::format(
        "{:>2}  {:<10} {:<28} {:>6} {:>5} {:>15} {:>7} {:>9} {:>9} {:>9}{}\n", g.index, g.backend,
        g.name.substr(0, 28), opt(g.temp_c, "C"), opt(g.util_pct, "%"),
        gib(g.mem_used_bytes) + "/" + gib(g.mem_total_bytes), opt(g.power_w, "W", 1),
        opt(g.sm_clock_mhz, "MHz"), opt(g.mem_clock_mhz, "MHz"),
        g.fan_rpm ? opt(g.fan_rpm, "rpm") : opt(g.fan_pct, "%"),
        g.simulated ? "  [simulated]" : "");
    for (const auto& [field, why] : g.unavailable) {
      std::cout << fmt::format("      {} unavailable: {}\n", field, why);
    }
  }
  if (gpus.empty()) std::cout << "    no GPU found by any configured backend\n";
  for (const auto& r : fleet.reports()) {
    if (r.available)
      std::cout << fmt::format("backend {:<10} {} device(s)\n", r.name, r.devices);
    else
      std::cout << fmt::format("backend {:<10} unavailable: {}\n", r.name, r.reason);
  }
  std::cout << fmt::format("host: cpu {}  mem {}/{} GiB  load {:.2f} {:.2f} {:.2f}",
                           opt(host.cpu_pct, "%"), gib(host.mem_used_bytes),
                           gib(host.mem_total_bytes), host.load1, host.load5, host.load15);
  for (const auto& d : host.disks) {
    std::cout << fmt::format("  disk {} {}/{} GiB", d.path, gib(d.used_bytes), gib(d.total_bytes));
  }
  std::cout << "\n";
}

nlohmann::json snapshot_json(const std::vector<GpuSample>& gpus, const HostSample& host,
                             const GpuFleet& fleet) {
  nlohmann::json out;
  out["host"] = wire_json(host);
  out["gpus"] = nlohmann::json::array();
  for (const auto& g : gpus) out["gpus"].push_back(wire_json(g));
  out["backends"] = nlohmann::json::array();
  for (const auto& r : fleet.reports()) out["backends"].push_back(wire_json(r));
  return out;
}

// Sleeps for `duration`, or less if SIGINT/SIGTERM arrives (the handlers
// are installed without SA_RESTART, so nanosleep returns early; sleep_for
// would sleep out the rest).
void sleep_unless_stopped(std::chrono::milliseconds duration) {
  if (stop_requested()) return;
  timespec ts{static_cast<time_t>(duration.count() / 1000),
              static_cast<long>(duration.count() % 1000) * 1'000'000};
  ::nanosleep(&ts, nullptr);
}

int run_gpu(const GlobalOptions& global, const GpuOptions& options) {
  auto config = begin_command("gpu", global);
  if (!config) return 2;
  std::string host_name_now = host_name();
  GpuFleet fleet = GpuFleet::open(config->telemetry, host_name_now);
  telemetry::HostSampler host_sampler(config->telemetry.proc_root, config->telemetry.disks);
  // Rates (CPU %, power from energy, activity) need a first reading; a
  // quarter of a second gives them something to measure without making
  // `--watch --interval 30` show nothing for half a minute.
  HostSample warmup;
  host_sampler.sample(telemetry::mono_now_ns(), warmup);
  fleet.sample(telemetry::mono_now_ns());
  auto wait = std::chrono::milliseconds(static_cast<int64_t>(options.interval_s * 1000));
  sleep_unless_stopped(std::min(wait, std::chrono::milliseconds(250)));
  while (!stop_requested()) {
    HostSample host;
    host.host = host_name_now;
    int64_t now = telemetry::mono_now_ns();
    host_sampler.sample(now, host);
    auto gpus = fleet.sample(now);
    if (options.json) {
      int indent = options.watch ? -1 : 2;
      std::cout << snapshot_json(gpus, host, fleet).dump(indent, ' ', false, kReplaceBadUtf8)
                << std::endl;
    } else {
      if (options.watch) std::cout << "\033[H\033[2J";
      print_table(gpus, host, fleet);
      std::cout.flush();
    }
    if (!options.watch) break;
    sleep_unless_stopped(wait);
  }
  return 0;
}

struct CheckOptions {
  bool json = false;
};

int run_check(const GlobalOptions& global, const CheckOptions& options) {
  auto config = begin_command("check", global, StopSignals::default_);
  if (!config) return 2;
  config::TelemetryConfig probe = config->telemetry;
  bool simulated =
      std::find(probe.backends.begin(), probe.backends.end(), "simulated") != probe.backends.end();
  probe.backends = {"nvml", "levelzero", "rocm", "sysfs"};
  if (simulated) probe.backends.push_back("simulated");
  GpuFleet fleet = GpuFleet::open(probe, host_name());
  if (options.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : fleet.reports()) out.push_back(wire_json(r));
    std::cout << out.dump(2, ' ', false, kReplaceBadUtf8) << "\n";
    return 0;
  }
  for (const auto& r : fleet.reports()) {
    if (r.available)
      std::cout << fmt::format("{:<10} usable       {} device(s)\n", r.name, r.devices);
    else
      std::cout << fmt::format("{:<10} unavailable  {}\n", r.name, r.reason);
  }
  for (const auto& g : fleet.sample(telemetry::mono_now_ns())) {  // why each field is missing
    for (const auto& [field, why] : g.unavailable)
      std::cout << fmt::format("  gpu{} {} unavailable: {}\n", g.index, field, why);
  }
  return 0;
}

}  // namespace

void add_telemetry_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto* stage = app.add_subcommand(
      "telemetry",
      "Run the telemetry stage: sample host and GPUs every telemetry.interval_ms, "
      "publish telemetry.* and alert.* until SIGINT/SIGTERM");
  stage->callback([&] { exit_code = run_telemetry(global); });

  auto gpu_options = std::make_shared<GpuOptions>();
  auto* gpu = app.add_subcommand(
      "gpu",
      "Show every GPU (any vendor) and the host, which backend served each device and "
      "which fields are unavailable and why");
  gpu->add_flag("--json", gpu_options->json, "JSON instead of a table (JSON lines with --watch)");
  gpu->add_flag("--watch", gpu_options->watch, "Refresh until interrupted");
  gpu->add_option("--interval", gpu_options->interval_s, "Seconds between refreshes with --watch")
      ->check(CLI::Range(0.01, 3600.0));
  gpu->callback([&, gpu_options] { exit_code = run_gpu(global, *gpu_options); });

  auto check_options = std::make_shared<CheckOptions>();
  auto* check = app.add_subcommand(
      "check", "List which GPU backends are usable on this machine, and why not");
  check->add_flag("--json", check_options->json,
                  "JSON array of {name, available, reason, devices}");
  check->callback([&, check_options] { exit_code = run_check(global, *check_options); });
}

}  // namespace nightshift::cli
