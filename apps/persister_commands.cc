// nightshift persister: the only writer of the results database.
#include <spdlog/spdlog.h>

#include <iostream>

#include "apps/cli_context.h"
#include "apps/supervisor.h"
#include "stages/common/process.h"
#include "stages/persister/persister.h"

namespace nightshift::cli {
namespace {

int run_persister(const GlobalOptions& global) {
  auto config = load_config_or_report(global);
  if (!config) return 2;
  start_logging("persister", *config, global);
  install_stop_signals();
  zmq::context_t context(1);
  // The database first: a path that is not writable is the clearer error.
  auto persister = persister::Persister::start(context, *config);
  if (!persister) {
    std::cerr << "nightshift persister: " << persister.error() << "\n";
    return 1;
  }
  if (auto reachable = probe_broker(context, *config, kStageBrokerWait); !reachable) {
    std::cerr << "nightshift persister: " << reachable.error() << "\n";
    return 1;
  }
  spdlog::info("persister up: results database {}", config->storage.results_db);
  (*persister)->run([] { return stop_requested(); });
  const auto& s = (*persister)->stats();
  spdlog::info("persister stopping (signal {}): {} results ({} new rows, {} duplicates), {} "
               "checkpoints, {} events in {} commits, {} failed commits",
               stop_signal(), s.results, s.new_rows, s.duplicates, s.checkpoints, s.events,
               s.commits, s.commit_failures);
  return 0;
}

}  // namespace

void add_persister_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto* persister = app.add_subcommand(
      "persister", "Run the persister: commits results, checkpoints and events to the results "
                   "database (the only writer) and announces job.persisted after each commit");
  persister->callback([&] { exit_code = run_persister(global); });
}

}  // namespace nightshift::cli
