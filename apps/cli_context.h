// What every subcommand shares: the global options and the loaded config.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "config/config.h"

namespace nightshift::cli {

struct GlobalOptions {
  std::string config_path;  // empty: built-in defaults
  std::string log_level;    // empty: from config
};

// Loads the config named by --config (or defaults). On error prints each
// problem as one line on stderr ("nightshift: invalid configuration: FILE:LINE:
// KEY: what") and returns nullopt; the caller exits non-zero (2).
std::optional<config::Config> load_config_or_report(const GlobalOptions& options);

// load_config_or_report, then the security preamble (bus::load_security: the
// CURVE key pair, or the check of endpoints reachable from other hosts), for
// commands that talk to the bus without being a stage. A problem is one line.
std::optional<config::Config> load_bus_config_or_report(const GlobalOptions& options);

// How a command treats SIGINT/SIGTERM.
enum class StopSignals {
  flag,     // set stop_requested(): the command polls it and stops cleanly
  default_  // the default action: the command ends at once
};

// The preamble every command that runs as (or talks to) a stage shares: load
// the config (problems reported as above), start the logger named `name`
// from the config and --log-level, and install the stop signals. nullopt:
// the configuration is invalid and the command exits 2.
std::optional<config::Config> begin_command(const std::string& name, const GlobalOptions& options,
                                            StopSignals signals = StopSignals::flag);

// Each command group registers its subcommands; `exit_code` receives the
// result of whichever command ran.
void add_bus_commands(CLI::App& app, GlobalOptions& options, int& exit_code);
void add_config_commands(CLI::App& app, GlobalOptions& options, int& exit_code);
void add_telemetry_commands(CLI::App& app, GlobalOptions& options, int& exit_code);
void add_run_commands(CLI::App& app, GlobalOptions& options, int& exit_code);
void add_persister_commands(CLI::App& app, GlobalOptions& options, int& exit_code);
void add_scheduler_commands(CLI::App& app, GlobalOptions& options, int& exit_code);
// watch, health, estimate, config edits; registered by add_run_commands.
void add_operator_commands(CLI::App& app, GlobalOptions& options, int& exit_code);
void add_fetcher_commands(CLI::App& app, GlobalOptions& options, int& exit_code);
void add_trainer_commands(CLI::App& app, GlobalOptions& options, int& exit_code);
void add_gateway_commands(CLI::App& app, GlobalOptions& global, int& exit_code);
// replay, replay-ctl, export, prune (apps/replay_commands.cc, apps/history_commands.cc).
void add_replay_commands(CLI::App& app, GlobalOptions& options, int& exit_code);
void add_history_commands(CLI::App& app, GlobalOptions& options, int& exit_code);
void add_keys_commands(CLI::App& app, GlobalOptions& options, int& exit_code);
// backup, restore, cache stats|clear (apps/storage_commands.cc).
void add_storage_commands(CLI::App& app, GlobalOptions& options, int& exit_code);
// rerun (apps/rerun_commands.cc).
void add_rerun_commands(CLI::App& app, GlobalOptions& options, int& exit_code);

}  // namespace nightshift::cli
