// nightshift backup | restore FILE | cache stats|clear: the results
// database's backups and its result cache (docs/cache.md).
#include <iostream>
#include <memory>

#include "apps/cli_context.h"
#include "stages/persister/backups.h"
#include "stages/persister/cache_commands.h"

namespace nightshift::cli {

void add_storage_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto* backup = app.add_subcommand(
      "backup", "Back up the results database now (SQLite online backup, safe beside a running "
                "night) into storage.backups_dir, keeping the newest storage.backups_keep");
  backup->callback([&] {
    auto config = begin_command("backup", global, StopSignals::default_);
    exit_code = config ? persister::run_backup(*config) : 2;
  });

  auto file = std::make_shared<std::string>();
  auto* restore = app.add_subcommand(
      "restore", "Replace the results database with a backup FILE (checked first: integrity, "
                 "schema version); refused while a run is writing");
  restore->add_option("file", *file, "Backup file (see storage.backups_dir)")->required();
  restore->callback([&, file] {
    auto config = begin_command("restore", global, StopSignals::default_);
    exit_code = config ? persister::run_restore(*config, *file) : 2;
  });

  auto* cache = app.add_subcommand("cache", "The result cache across runs (docs/cache.md)");
  cache->require_subcommand(1);
  auto json = std::make_shared<bool>(false);
  auto* stats = cache->add_subcommand("stats", "Entries, hits, misses, hit rate, expired, evicted");
  stats->add_flag("--json", *json, "One JSON object");
  stats->callback([&, json] {
    auto config = begin_command("cache", global, StopSignals::default_);
    exit_code = config ? persister::run_cache_stats(*config, *json) : 2;
  });
  auto* clear = cache->add_subcommand("clear", "Delete every entry (refused while a run is writing)");
  clear->callback([&] {
    auto config = begin_command("cache", global, StopSignals::default_);
    exit_code = config ? persister::run_cache_clear(*config) : 2;
  });
}

}  // namespace nightshift::cli
