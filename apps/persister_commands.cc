// nightshift persister: the only writer of the results database.
#include "apps/cli_context.h"
#include "stages/persister/persister_stage.h"

namespace nightshift::cli {

void add_persister_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto* persister = app.add_subcommand(
      "persister", "Run the persister: commits results, checkpoints and events to the results "
                   "database (the only writer) and announces job.persisted after each commit");
  persister->callback([&] {
    auto config = begin_command("persister", global);
    exit_code = config ? persister::run_persister_stage(*config) : 2;
  });
}

}  // namespace nightshift::cli
