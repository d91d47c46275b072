// nightshift scheduler: plans a run and sends its jobs against free worker slots.
#include <spdlog/spdlog.h>

#include <iostream>

#include "apps/cli_context.h"
#include "apps/supervisor.h"
#include "stages/common/process.h"
#include "stages/scheduler/scheduler.h"

namespace nightshift::cli {
namespace {

int run_scheduler(const GlobalOptions& global, const scheduler::SchedulerOptions& options) {
  auto config = load_config_or_report(global);
  if (!config) return 2;
  start_logging("scheduler", *config, global);
  install_stop_signals();
  zmq::context_t context(1);
  if (auto reachable = probe_broker(context, *config, kStageBrokerWait); !reachable) {
    std::cerr << "nightshift scheduler: " << reachable.error() << "\n";
    return 1;
  }
  auto scheduler = scheduler::Scheduler::start(context, *config, options);
  if (!scheduler) {
    std::cerr << "nightshift scheduler: " << scheduler.error() << "\n";
    return 1;
  }
  auto outcome = (*scheduler)->run([] { return stop_requested(); });
  return outcome == scheduler::RunOutcome::failed ? 1 : 0;
}

}  // namespace

void add_scheduler_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto options = std::make_shared<scheduler::SchedulerOptions>();
  auto* cmd = app.add_subcommand(
      "scheduler", "Run the scheduler for one run: plan (or rebuild with --resume), send jobs "
                   "against free worker slots with leases, retry, skip, checkpoint");
  cmd->add_option("--run", options->run, "Run id")->required();
  cmd->add_flag("--resume", options->resume,
                "Continue a stored run: only unpersisted jobs are sent again");
  cmd->callback([&, options] { exit_code = run_scheduler(global, *options); });
}

}  // namespace nightshift::cli
