// nightshift export RUN | prune
#include <iostream>
#include <memory>

#include "apps/cli_context.h"
#include "stages/persister/history_prune.h"
#include "stages/replay/history_export.h"

namespace nightshift::cli {

void add_history_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  struct ExportCli {
    replay::ExportOptions options;
    std::string what = "trials";
    std::string format = "csv";
  };
  auto ex = std::make_shared<ExportCli>();
  auto* exporter = app.add_subcommand(
      "export", "Write a run's trials, models, telemetry, alerts or events as CSV or JSON lines "
                "(streamed; columns in docs/replay.md)");
  exporter->add_option("run", ex->options.run, "Run id")->required();
  exporter->add_option("--what", ex->what, "trials|models|telemetry|alerts|events")
      ->check(CLI::IsMember({"trials", "models", "telemetry", "alerts", "events"}));
  exporter->add_option("--format", ex->format, "csv|jsonl")->check(CLI::IsMember({"csv", "jsonl"}));
  exporter->add_option("--out", ex->options.out, "File to write (default: stdout)");
  exporter->callback([&, ex] {
    auto config = begin_command("export", global, StopSignals::default_);
    if (!config) {
      exit_code = 2;
      return;
    }
    ex->options.what = *parse_history_kind(ex->what);  // checked by IsMember above
    ex->options.format = ex->format == "csv" ? replay::ExportFormat::csv : replay::ExportFormat::jsonl;
    exit_code = replay::run_export(*config, ex->options);
  });

  auto prune = std::make_shared<persister::PruneOptions>();
  auto* pruner = app.add_subcommand(
      "prune", "Delete telemetry and event-log rows older than storage.telemetry_retention_days "
               "/ storage.events_retention_days, in small transactions (safe beside a running "
               "persister), and report what was freed");
  pruner->add_flag("--dry-run", prune->dry_run, "Only count what would be deleted");
  pruner->add_flag("--vacuum", prune->vacuum,
                   "Then VACUUM, so the file shrinks (rewrites it; holds the write lock meanwhile)");
  pruner->callback([&, prune] {
    auto config = begin_command("prune", global, StopSignals::default_);
    exit_code = config ? persister::run_prune(*config, *prune) : 2;
  });
}

}  // namespace nightshift::cli
