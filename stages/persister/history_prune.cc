#include "stages/persister/history_prune.h"

#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "base/process.h"
#include "schema/results_store.h"
#include "schema/retention.h"

namespace nightshift::persister {
namespace {

int fail(const std::string& message) {
  std::cerr << "nightshift prune: " << message << "\n";
  return 1;
}

std::string mib(int64_t bytes) { return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20)); }

int64_t file_bytes(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

}  // namespace

int run_prune(const config::Config& config, const PruneOptions& options) {
  const std::string& path = config.storage.results_db;
  if (!std::filesystem::exists(path)) return fail("results database " + path + " does not exist");
  // Opening for writing applies pending migrations and refuses a newer schema.
  auto store = ResultsStore::open_for_writing(path);
  if (!store) return fail(store.error());
  auto rules = retention_rules(config.storage.telemetry_retention_days,
                               config.storage.events_retention_days, now_ns());
  if (rules.empty()) {
    std::cout << "nothing to prune: storage.telemetry_retention_days and "
                 "storage.events_retention_days are 0 (keep all)\n";
  }
  int64_t rows = 0, bytes = 0;
  for (const auto& rule : rules) {
    auto outcome = options.dry_run ? count_prunable(store->db(), rule)
                                   : prune(store->db(), rule, PruneLimits{});
    if (!outcome) return fail(rule.table + ": " + outcome.error());
    rows += outcome->rows;
    bytes += outcome->bytes;
    std::cout << fmt::format("{:<15} {} {} rows ({} of bodies)", rule.table,
                             options.dry_run ? "would delete" : "deleted", outcome->rows,
                             mib(outcome->bytes));
    if (!options.dry_run) {
      std::cout << fmt::format(" in {} transactions, longest held the write lock {:.1f} ms",
                               outcome->batches, outcome->longest_batch_ms);
    }
    std::cout << "\n";
  }
  std::cout << fmt::format("{} {} rows, {} of bodies", options.dry_run ? "would free" : "freed",
                           rows, mib(bytes));
  if (!options.vacuum || options.dry_run) {
    std::cout << (options.dry_run ? "" : "; the file keeps its size until --vacuum") << "\n";
    return 0;
  }
  int64_t before = file_bytes(path);
  if (auto st = store->db().exec("VACUUM"); !st) return fail("VACUUM: " + st.error());
  (void)store->db().exec("PRAGMA wal_checkpoint(TRUNCATE)");
  std::cout << fmt::format("; VACUUM: file {} -> {}\n", mib(before), mib(file_bytes(path)));
  return 0;
}

}  // namespace nightshift::persister
