#include "stages/persister/persister_stage.h"

#include <spdlog/spdlog.h>

#include <iostream>

#include "base/process.h"
#include "broker/control_client.h"
#include "stages/persister/persister.h"

namespace nightshift::persister {

int run_persister_stage(const config::Config& config, const std::string& run) {
  install_stop_signals();
  zmq::context_t context(1);
  // The database first: a path that is not writable is the clearer error.
  auto persister = Persister::start(context, config, PersisterTuning{}, run);
  if (!persister) {
    std::cerr << "nightshift persister: " << persister.error() << "\n";
    return 1;
  }
  if (auto reachable = bus::probe_broker(context, config.bus, bus::kStageBrokerWait); !reachable) {
    std::cerr << "nightshift persister: " << reachable.error() << "\n";
    return 1;
  }
  spdlog::info("persister up: results database {}", config.storage.results_db);
  (*persister)->run([] { return stop_requested(); });
  const auto& s = (*persister)->stats();
  spdlog::info("persister stopping (signal {}): {} results ({} new rows, {} duplicates), {} "
               "checkpoints, {} events in {} commits, {} failed commits, {} refused",
               stop_signal(), s.results, s.new_rows, s.duplicates, s.checkpoints, s.events,
               s.commits, s.commit_failures, (*persister)->refused());
  return 0;
}

}  // namespace nightshift::persister
