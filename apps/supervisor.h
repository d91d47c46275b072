// The night-run supervisor behind `nightshift run` and `nightshift resume`:
// starts broker, telemetry, fetcher, persister, the gateway, N workers and the scheduler
// as child processes of this same binary (/proc/self/exe --config F <stage>),
// restarts any stage that crashes (a scheduler restarts with --resume, so it
// rebuilds from the database; one that keeps dying ends the run with the
// cause as its one line), kills every child if it dies itself (parent-death
// signal), draws the
// progress bar, stops the children in order on SIGINT/SIGTERM (scheduler
// first so it can checkpoint, broker last) and prints the summary table.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "config/config.h"
#include "schema/result.h"

namespace nightshift::cli {

// How long `nightshift run` waits for the broker it started to answer.
inline constexpr std::chrono::seconds kRunBrokerWait{10};

struct SupervisorOptions {
  std::string config_path;  // passed to every child as --config (empty: defaults)
  std::string log_level;
  std::string run;          // run id
  bool resume = false;
  int workers = -1;  // -1: num_workers from config, else cores - 1; 0: remote workers only
  // Test hook: a program to start instead of `nightshift worker` (given
  // --config F). The exactly-once machinery is tested with it.
  std::string worker_program;
  std::vector<std::string> worker_args;
  bool telemetry = true;
  // The gateway starts when dashboard.enabled or `--dashboard`; `--port`
  // (0: dashboard.port) implies --dashboard.
  bool dashboard = false;
  int dashboard_port = 0;
  // `nightshift rerun`: the stored run this one re-runs (scheduler and
  // persister get --rerun-of), with the fetcher offline (cache only).
  std::string rerun_of = {};
};

// Exit codes of `nightshift run` / `resume`.
inline constexpr int kRunCompleted = 0;
inline constexpr int kRunFailed = 1;
inline constexpr int kRunInterrupted = 3;  // resumable with `nightshift resume RUN`

int supervise(const config::Config& config, const SupervisorOptions& options);

// Default number of workers: cores - 1, at least 1.
int default_workers();

}  // namespace nightshift::cli
