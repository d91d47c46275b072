// nightshift watch | health | estimate | config create|optimize|add-symbol|
// set-timeframes|set-thresholds: what an operator runs beside the night run.
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "apps/cli_context.h"
#include "apps/run_report.h"
#include "apps/supervisor.h"
#include "broker/bus.h"
#include "broker/control_client.h"
#include "broker/stage_watch.h"
#include "config/config_editor.h"
#include "schema/json.h"
#include "base/process.h"
#include "stages/scheduler/plan.h"

namespace nightshift::cli {
namespace {

constexpr double kUnknownJobSeconds = 5.0;  // a guess for timeframes with no history

int run_watch(const GlobalOptions& global, double interval_s, int count) {
  auto config = load_bus_config_or_report(global);
  if (!config) return 2;
  install_stop_signals();
  for (int i = 0; !stop_requested() && (count == 0 || i < count); ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(interval_s * 1000)));
    auto store = ResultsStore::open_read_only(config->storage.results_db);
    auto runs = store ? store->runs() : Result<std::vector<RunRow>>(store.take_error());
    if (!runs || runs->empty()) {
      std::cout << (runs ? "no runs yet" : runs.error()) << "\n" << std::flush;
      continue;
    }
    auto status = run_status(*store, runs->front().run);
    if (status) print_status(std::cout, *status);
    std::cout << std::flush;
  }
  return 0;
}

int run_health(const GlobalOptions& global, double window_s) {
  auto config = load_bus_config_or_report(global);
  if (!config) return 2;
  install_stop_signals();
  zmq::context_t context(1);
  auto broker = bus::probe_broker(context, config->bus, std::chrono::seconds(3));
  if (!broker) {
    std::cerr << "nightshift health: " << broker.error() << "\n";
    return 1;
  }
  std::cout << "broker     up at " << config->bus.control << "\n";
  auto heard = bus::hear_stages(config->bus, std::chrono::milliseconds(static_cast<int64_t>(window_s * 1000)));
  for (const auto& [stage, ts] : heard.stages) {
    std::cout << fmt::format("{:<10} alive, last heard {:.1f} s ago", stage,
                             static_cast<double>(now_ns() - ts) / 1e9);
    if (stage == "persister" && !heard.persister_refused.empty()) {
      std::cout << "; " << heard.persister_refused << " forged or invalid messages refused";
    }
    std::cout << "\n";
  }
  for (const auto& [host, seen] : heard.hosts) {
    std::cout << fmt::format("host {}: {} worker(s){}\n", host, seen.workers.size(),
                             seen.telemetry ? ", telemetry" : "");
  }
  for (const char* expected : {"persister", "scheduler"}) {
    if (!heard.stages.count(expected)) std::cout << fmt::format("{:<10} not heard in {} s\n", expected, window_s);
  }
  // Alerts are published on change: active ones are those whose latest
  // stored message fires. The persister's own cannot be stored while it
  // cannot commit, so its alive event speaks for it.
  std::vector<std::string> active;
  if (!heard.persister_problem.empty()) active.push_back("critical  " + heard.persister_problem);
  if (auto store = ResultsStore::open_read_only(config->storage.results_db)) {
    if (auto alerts = store->active_alerts()) {
      for (const auto& a : *alerts) {
        if (!heard.persister_problem.empty() && a.topic.find(".persister.commit") != std::string::npos) continue;
        active.push_back(fmt::format("{:<9} {} (since {})", a.level, a.message, format_utc(a.since_ns)));
      }
    }
  }
  std::cout << "alerts     " << active.size() << " active";
  for (const auto& line : active) std::cout << "\n  " << line;
  std::cout << "\n";
  return heard.stages.count("persister") && heard.persister_problem.empty() ? 0 : 1;
}

int run_estimate(const GlobalOptions& global, int workers) {
  auto config = load_bus_config_or_report(global);
  if (!config) return 2;
  if (workers <= 0) workers = config->num_workers > 0 ? config->num_workers : default_workers();
  std::map<std::string, double> mean_s;
  auto store = ResultsStore::open_read_only(config->storage.results_db);
  if (store) {
    auto timings = store->timeframe_timings();
    if (timings) {
      for (const auto& t : *timings) mean_s[t.timeframe] = t.mean_wall_s;
    }
  }
  auto jobs_by_tf = scheduler::planned_jobs_by_timeframe(*config);
  double total_s = 0;
  std::cout << fmt::format("{:<6} {:>6} {:>18} {:>12}\n", "tf", "jobs", "s per job", "cpu time");
  for (const auto& tf : config->timeframes) {
    int64_t per_tf = jobs_by_tf[tf];
    bool known = mean_s.count(tf) > 0;
    double each = known ? mean_s[tf] : kUnknownJobSeconds;
    total_s += each * static_cast<double>(per_tf);
    std::cout << fmt::format("{:<6} {:>6} {:>18} {:>12}\n", tf, per_tf,
                             known ? fmt::format("{:.2f}", each) : fmt::format("~{:.0f} (no history)", each),
                             format_duration(each * static_cast<double>(per_tf)));
  }
  std::cout << fmt::format("estimated wall time with {} workers: {}\n", workers,
                           format_duration(total_s / workers));
  return 0;
}

uint64_t machine_ram_bytes() {
  return static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
}

int report(const Status& status, const std::string& done) {
  if (!status) {
    std::cerr << "nightshift: " << status.error() << "\n";
    return 1;
  }
  std::cout << done << "\n";
  return 0;
}

std::string target_file(const GlobalOptions& global, const std::string& file) {
  return file.empty() ? (global.config_path.empty() ? std::string("config/nightshift.yaml") : global.config_path) : file;
}

void add_config_edits(CLI::App& app, GlobalOptions& global, int& exit_code) {
  CLI::App* cfg = app.get_subcommand("config");
  auto file = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  auto* create = cfg->add_subcommand("create", "Write a starter config file");
  create->add_option("file", *file, "Path (default: --config or config/nightshift.yaml)");
  create->add_flag("--force", *force, "Overwrite an existing file");
  create->callback([&, file, force] {
    std::string path = target_file(global, *file);
    exit_code = report(config::create_config_file(path, *force), "wrote " + path);
  });

  auto dry = std::make_shared<bool>(false);
  auto* optimize = cfg->add_subcommand("optimize", "Set num_workers and max_memory_per_process from this machine's cores and RAM");
  optimize->add_flag("--dry-run", *dry, "Only print the choice");
  optimize->callback([&, dry] {
    auto plan = config::plan_for_machine(static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)), machine_ram_bytes());
    std::cout << plan.reason << "\n";
    if (*dry) return void(exit_code = 0);
    std::string path = target_file(global, "");
    exit_code = report(config::apply_machine_plan(path, plan), "updated " + path);
  });

  auto symbol = std::make_shared<std::string>();
  auto* add = cfg->add_subcommand("add-symbol", "Append a symbol to `symbols`");
  add->add_option("symbol", *symbol, "e.g. BNBUSDT")->required();
  add->callback([&, symbol] {
    exit_code = report(config::add_symbol(target_file(global, ""), *symbol), "added " + *symbol);
  });

  auto tfs = std::make_shared<std::vector<std::string>>();
  auto* set_tf = cfg->add_subcommand("set-timeframes", "Replace `timeframes`");
  set_tf->add_option("timeframes", *tfs, "e.g. 15m 1h 4h")->required();
  set_tf->callback([&, tfs] {
    exit_code = report(config::set_timeframes(target_file(global, ""), *tfs), "timeframes set");
  });

  auto gates = std::make_shared<config::GateEdit>();
  auto* set_gates = cfg->add_subcommand("set-thresholds", "Change the promotion gates (promote_if)");
  set_gates->add_option("--min-auc", gates->min_auc, "Minimum holdout AUC");
  set_gates->add_option("--max-brier", gates->max_brier, "Maximum holdout Brier score");
  set_gates->add_option("--min-acc", gates->min_acc, "Minimum holdout accuracy");
  set_gates->add_option("--max-auc-p", gates->max_auc_p_value,
                        "Largest one-sided p-value of the holdout AUC under no skill");
  set_gates->callback([&, gates] {
    if (!gates->min_auc && !gates->max_brier && !gates->min_acc && !gates->max_auc_p_value) {
      std::cerr << "nightshift: config set-thresholds: give at least one of --min-auc, "
                   "--max-brier, --min-acc, --max-auc-p\n";
      return void(exit_code = 2);
    }
    exit_code = report(config::set_thresholds(target_file(global, ""), *gates), "thresholds set");
  });
}

}  // namespace

void add_operator_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto interval = std::make_shared<double>(2.0);
  auto count = std::make_shared<int>(0);
  auto* watch = app.add_subcommand("watch", "Print the latest run's state every few seconds");
  watch->add_option("--interval", *interval, "Seconds between updates")->check(CLI::PositiveNumber);
  watch->add_option("-n,--count", *count, "Stop after N updates (0: until Ctrl-C)");
  watch->callback([&, interval, count] { exit_code = run_watch(global, *interval, *count); });

  auto window = std::make_shared<double>(3.0);
  auto* health = app.add_subcommand("health", "Broker reachable, stages and workers alive, alerts active");
  health->add_option("--window", *window, "Seconds to listen for heartbeats")->check(CLI::PositiveNumber);
  health->callback([&, window] { exit_code = run_health(global, *window); });

  auto workers = std::make_shared<int>(0);
  auto* estimate = app.add_subcommand("estimate", "Predict the run's wall time from the plan and stored trial times per timeframe");
  estimate->add_option("--workers", *workers, "Workers (default: num_workers, or cores - 1)");
  estimate->callback([&, workers] { exit_code = run_estimate(global, *workers); });

  add_config_edits(app, global, exit_code);
}

}  // namespace nightshift::cli
