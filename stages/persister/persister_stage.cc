#include "stages/persister/persister_stage.h"

#include <spdlog/spdlog.h>

#include <iostream>

#include "base/build_info.h"
#include "base/process.h"
#include "broker/control_client.h"
#include "config/config_keys.h"
#include "stages/persister/persister.h"

namespace nightshift::persister {
namespace {

// What the run is made from, recorded before anything of it is stored: the
// configuration every stage of the run loaded (the same file and
// environment), this binary, and the kernels this host's CPU runs.
Status record_provenance(const config::Config& config, const std::string& run,
                         const std::string& rerun_of) {
  auto store = ResultsStore::open_for_writing(config.storage.results_db);
  if (!store) return store.take_error();
  const BuildInfo& build = build_info();
  RunProvenance p;
  p.run = run;
  p.config_yaml = config::to_yaml(config);
  p.code_commit = build.commit;
  p.code_dirty = build.dirty;
  p.build_id = build.build_id;
  p.compiler = build.compiler;
  p.kernel_isa = kernel_isa();
  if (!rerun_of.empty()) p.rerun_of = rerun_of;
  p.recorded_ns = now_ns();
  return store->put_provenance(p);
}

}  // namespace

int run_persister_stage(const config::Config& config, const std::string& run,
                        const std::string& rerun_of) {
  install_stop_signals();
  if (!run.empty()) {
    if (Status s = record_provenance(config, run, rerun_of); !s) {
      std::cerr << "nightshift persister: recording run " << run << ": " << s.error() << "\n";
      return 1;
    }
  }
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
