// nightshift run | resume | status | runs: the night run and its history.
#include <fmt/format.h>

#include <ctime>
#include <iostream>

#include "apps/cli_context.h"
#include "apps/run_report.h"
#include "apps/supervisor.h"
#include "base/log.h"
#include "broker/control_client.h"
#include "broker/stage_watch.h"
#include "base/process.h"
#include "schema/names.h"

namespace nightshift::cli {
namespace {

std::string new_run_id() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "r%Y%m%d-%H%M%S", &utc);
  return text;
}

int run_night(const GlobalOptions& global, SupervisorOptions options) {
  auto config = load_bus_config_or_report(global);
  if (!config) return 2;
  config::LoggingConfig quiet = config->logging;
  setup_logging("run", quiet, global.log_level);
  install_stop_signals();
  options.config_path = global.config_path;
  options.log_level = global.log_level;
  if (options.run.empty()) options.run = new_run_id();
  // The run id names a log folder, topics and rows: a path in it stops here.
  if (auto why = name_problem("run id", options.run); !why.empty()) {
    std::cerr << "nightshift: " << why << "\n";
    return 2;
  }
  return supervise(*config, options);
}

std::optional<ResultsStore> open_store(const config::Config& config) {
  auto store = ResultsStore::open_read_only(config.storage.results_db);
  if (!store) {
    std::cerr << "nightshift: " << store.error() << "\n";
    return std::nullopt;
  }
  return std::move(*store);
}

int show_status(const GlobalOptions& global, std::string run, bool json) {
  auto config = load_bus_config_or_report(global);
  if (!config) return 2;
  auto store = open_store(*config);
  if (!store) return 1;
  if (run.empty()) {
    auto runs = store->runs();
    if (!runs || runs->empty()) {
      std::cerr << "nightshift: no runs in " << config->storage.results_db << "\n";
      return 1;
    }
    run = runs->front().run;
  }
  auto status = run_status(*store, run);
  if (!status) {
    std::cerr << "nightshift: " << status.error() << "\n";
    return 1;
  }
  if ((*status)["status"] == wire_text(RunStatus::running)) {
    // Live: what the database cannot say (a persister that cannot commit
    // cannot store that either) comes from the bus, if a broker answers.
    zmq::context_t context(1);
    if (bus::probe_broker(context, config->bus, std::chrono::milliseconds(300))) {
      auto heard = bus::hear_stages(config->bus, std::chrono::milliseconds(2500), true);
      if (!heard.persister_problem.empty()) (*status)["persister_problem"] = heard.persister_problem;
    }
  }
  if (json) {
    std::cout << status->dump() << "\n";
  } else {
    print_status(std::cout, *status);
  }
  return 0;
}

int run_history(const GlobalOptions& global) {
  auto config = load_bus_config_or_report(global);
  if (!config) return 2;
  auto store = open_store(*config);
  if (!store) return 1;
  auto runs = store->runs();
  if (!runs) {
    std::cerr << "nightshift: " << runs.error() << "\n";
    return 1;
  }
  std::cout << fmt::format("{:<20} {:<12} {:<20} {:>9} {:>6} {:>8}\n", "run", "status",
                           "started (UTC)", "duration", "done", "skipped");
  for (const auto& r : *runs) {
    double seconds = static_cast<double>(r.finished_ns.value_or(r.updated_ns) - r.started_ns) / 1e9;
    std::cout << fmt::format("{:<20} {:<12} {:<20} {:>9} {:>6} {:>8}\n", r.run, wire_text(r.status),
                             format_utc(r.started_ns), format_duration(seconds),
                             fmt::format("{}/{}", r.done_jobs, r.total_jobs), r.skipped_jobs);
    // Which hosts ran it: workers (from the stored results) and telemetry.
    auto counts = store->run_counts(r.run);
    if (!counts) {
      std::cerr << "nightshift: " << counts.error() << "\n";
      return 1;
    }
    std::string hosts = host_summary(counts->results_by_host, counts->workers_by_host,
                                     counts->telemetry_by_host);
    if (!hosts.empty()) std::cout << "  hosts: " << hosts << "\n";
  }
  return 0;
}

void add_supervisor_options(CLI::App* cmd, SupervisorOptions& options) {
  cmd->add_option("--workers", options.workers,
                  "Trainer workers on this host (default: num_workers, or cores - 1); 0: none, "
                  "workers on other hosts only (scripts/start-workers)")
      ->check(CLI::Range(0, 1024));
  cmd->add_flag("!--no-telemetry", options.telemetry, "Do not start the telemetry stage");
  cmd->add_flag("--dashboard", options.dashboard,
                "Start the gateway (dashboard, API, /metrics) even when dashboard.enabled is false");
  cmd->add_option("--port", options.dashboard_port, "The gateway's port (implies --dashboard)")
      ->check(CLI::Range(1, 65535));
  cmd->add_option("--worker-program", options.worker_program,
                  "Test hook: start PROGRAM --config F --id N instead of `nightshift worker`")
      ->group("");
  cmd->add_option("--worker-arg", options.worker_args, "Test hook: extra worker argument")
      ->group("");
}

}  // namespace

void add_run_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto run_options = std::make_shared<SupervisorOptions>();
  auto* run = app.add_subcommand(
      "run", "The night run: start broker, telemetry, fetcher, persister, workers and scheduler; "
             "progress bar; summary table. Exit 0 completed, 3 interrupted (resumable), 1 failed");
  add_supervisor_options(run, *run_options);
  run->add_option("--run-id", run_options->run, "Run id (default: rYYYYMMDD-HHMMSS, UTC)");
  run->callback([&, run_options] { exit_code = run_night(global, *run_options); });

  auto resume_options = std::make_shared<SupervisorOptions>();
  auto* resume = app.add_subcommand(
      "resume", "Continue an interrupted run: only jobs whose result was not persisted run again");
  resume->add_option("run", resume_options->run, "Run id (see `nightshift runs`)")->required();
  add_supervisor_options(resume, *resume_options);
  resume_options->resume = true;
  resume->callback([&, resume_options] {
    resume_options->resume = true;
    exit_code = run_night(global, *resume_options);
  });

  auto status_run = std::make_shared<std::string>();
  auto status_json = std::make_shared<bool>(false);
  auto* status = app.add_subcommand("status", "A run's state from the database (default: latest)");
  status->add_option("run", *status_run, "Run id");
  status->add_flag("--json", *status_json, "One JSON object");
  status->callback([&, status_run, status_json] {
    exit_code = show_status(global, *status_run, *status_json);
  });

  auto* runs = app.add_subcommand("runs", "Run history: status, start, duration, jobs");
  runs->callback([&] { exit_code = run_history(global); });

  add_operator_commands(app, global, exit_code);
}

}  // namespace nightshift::cli
