#include "stages/scheduler/scheduler_stage.h"

#include <iostream>

#include "base/process.h"
#include "broker/control_client.h"

namespace nightshift::scheduler {

int run_scheduler_stage(const config::Config& config, const SchedulerOptions& options) {
  install_stop_signals();
  zmq::context_t context(1);
  if (auto reachable = bus::probe_broker(context, config.bus, bus::kStageBrokerWait); !reachable) {
    std::cerr << "nightshift scheduler: " << reachable.error() << "\n";
    return 1;
  }
  auto scheduler = Scheduler::start(context, config, options);
  if (!scheduler) {
    std::cerr << "nightshift scheduler: " << scheduler.error() << "\n";
    return 1;
  }
  auto outcome = (*scheduler)->run([] { return stop_requested(); });
  return outcome == RunOutcome::failed ? 1 : 0;
}

}  // namespace nightshift::scheduler
