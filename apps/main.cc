// nightshift: one binary for every stage and every operator command.
#include <CLI/CLI.hpp>

#include <iostream>

#include "apps/cli_context.h"

int main(int argc, char** argv) {
  CLI::App app{"nightshift — overnight training of many small market-direction models, "
               "with live GPU and host telemetry, over a ZeroMQ pipeline."};
  app.set_version_flag("--version", "nightshift 0.1.0");
  app.require_subcommand(1);
  app.fallthrough();

  nightshift::cli::GlobalOptions options;
  app.add_option("-c,--config", options.config_path,
                 "YAML config file (default: built-in defaults, see config/nightshift.yaml)");
  app.add_option("--log-level", options.log_level, "trace|debug|info|warn|error|critical|off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

  int exit_code = 0;
  nightshift::cli::add_bus_commands(app, options, exit_code);
  nightshift::cli::add_config_commands(app, options, exit_code);
  nightshift::cli::add_telemetry_commands(app, options, exit_code);
  nightshift::cli::add_run_commands(app, options, exit_code);
  nightshift::cli::add_persister_commands(app, options, exit_code);
  nightshift::cli::add_scheduler_commands(app, options, exit_code);
  nightshift::cli::add_fetcher_commands(app, options, exit_code);
  nightshift::cli::add_trainer_commands(app, options, exit_code);
  nightshift::cli::add_gateway_commands(app, options, exit_code);
  nightshift::cli::add_replay_commands(app, options, exit_code);
  nightshift::cli::add_history_commands(app, options, exit_code);
  nightshift::cli::add_keys_commands(app, options, exit_code);
  nightshift::cli::add_storage_commands(app, options, exit_code);
  nightshift::cli::add_rerun_commands(app, options, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
