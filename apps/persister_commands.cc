// nightshift persister: the only writer of the results database.
#include <memory>
#include <string>

#include "apps/cli_context.h"
#include "stages/persister/persister_stage.h"

namespace nightshift::cli {

void add_persister_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto* persister = app.add_subcommand(
      "persister", "Run the persister: commits results, checkpoints and events to the results "
                   "database (the only writer) and announces job.persisted after each commit");
  auto run = std::make_shared<std::string>();
  persister->add_option("--run", *run,
                        "Store only this run's results and checkpoints (the supervisor sets it)");
  auto rerun_of = std::make_shared<std::string>();
  persister->add_option("--rerun-of", *rerun_of, "The run this run re-runs (`nightshift rerun` sets it)")
      ->group("");
  persister->callback([&, run, rerun_of] {
    auto config = begin_command("persister", global);
    exit_code = config ? persister::run_persister_stage(*config, *run, *rerun_of) : 2;
  });
}

}  // namespace nightshift::cli
