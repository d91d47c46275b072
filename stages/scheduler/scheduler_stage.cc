#include "stages/scheduler/scheduler_stage.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

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
  // The supervisor's parent-death signal is the first line; this is the
  // second (a process reparented before the signal was armed, or a signal
  // that was lost): a scheduler nobody supervises stops now, not after grace_s.
  const int supervisor = options.supervisor_pid;
  auto outcome = (*scheduler)->run([supervisor] {
    if (supervisor > 0 && getppid() != supervisor) {
      spdlog::error("supervisor (pid {}) is gone; stopping at once", supervisor);
      spdlog::default_logger()->flush();
      _exit(1);
    }
    return stop_requested();
  });
  return outcome == RunOutcome::failed ? 1 : 0;
}

}  // namespace nightshift::scheduler
