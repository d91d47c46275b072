// nightshift scheduler: plans a run and sends its jobs against free worker slots.
#include <memory>

#include "apps/cli_context.h"
#include "stages/scheduler/scheduler_stage.h"

namespace nightshift::cli {

void add_scheduler_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto options = std::make_shared<scheduler::SchedulerOptions>();
  auto* cmd = app.add_subcommand(
      "scheduler", "Run the scheduler for one run: plan (or rebuild with --resume), send jobs "
                   "against free worker slots with leases, retry, skip, checkpoint");
  cmd->add_option("--run", options->run, "Run id")->required();
  cmd->add_flag("--resume", options->resume,
                "Continue a stored run: only unpersisted jobs are sent again");
  cmd->add_option("--supervisor-pid", options->supervisor_pid,
                  "Exit at once when this process (the supervisor) is no longer the parent");
  cmd->add_option("--rerun-of", options->rerun_of,
                  "Plan a rerun of this stored run (`nightshift rerun` sets it)")
      ->group("");
  cmd->callback([&, options] {
    auto config = begin_command("scheduler", global);
    exit_code = config ? scheduler::run_scheduler_stage(*config, *options) : 2;
  });
}

}  // namespace nightshift::cli
