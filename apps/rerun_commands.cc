// nightshift rerun RUN [--workers N] [--run-id ID]: runs a stored run again
// from its stored configuration on its exact datasets, then compares the
// two runs trial by trial (stages/replay/run_diff.h). Exit 0: identical
// under the rule that applies; 1: differences, listed; 2: no rerun (unknown
// run, a dataset the market cache no longer holds as it was, a rerun that
// did not complete).
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <tuple>

#include "apps/cli_context.h"
#include "apps/supervisor.h"
#include "base/log.h"
#include "base/process.h"
#include "config/config_keys.h"
#include "config/rerun_config.h"
#include "schema/names.h"
#include "schema/results_store.h"
#include "stages/fetcher/dataset_check.h"
#include "stages/replay/run_diff.h"

namespace nightshift::cli {
namespace {

constexpr int kRerunIdentical = 0;
constexpr int kRerunDiffers = 1;
constexpr int kRerunImpossible = 2;

struct RerunOptions {
  std::string stored;  // the run to re-run
  std::string run;     // the rerun's id (default: <stored>-rerunN)
  int workers = -1;
};

int fail(const std::string& line) {
  std::cerr << "nightshift rerun: " << line << "\n";
  return kRerunImpossible;
}

// The bars every stored result used, once each.
Result<std::vector<fetcher::DatasetUse>> datasets_of(const std::vector<TrialOutcome>& results,
                                                     const std::string& source, const std::string& run) {
  std::set<std::tuple<std::string, std::string, int64_t, int64_t, std::string>> seen;
  std::vector<fetcher::DatasetUse> uses;
  for (const TrialOutcome& t : results) {
    if (!t.data_first_ts || !t.data_last_ts) {
      return make_error(ErrorKind::invalid_input,
                        "run " + run + " did not record which bars " + t.study + "/" + std::to_string(t.trial) +
                            " used (stored by an older nightshift); it cannot be re-run exactly");
    }
    if (seen.emplace(t.symbol, t.timeframe, *t.data_first_ts, *t.data_last_ts, t.data_fingerprint).second) {
      uses.push_back(fetcher::DatasetUse{source, t.symbol, t.timeframe, *t.data_first_ts,
                                         *t.data_last_ts, t.data_fingerprint});
    }
  }
  return uses;
}

std::string free_run_id(ResultsStore& store, const std::string& stored) {
  for (int n = 1;; ++n) {
    std::string id = stored + "-rerun" + std::to_string(n);
    auto row = store.run(id);
    auto provenance = store.provenance(id);
    if (row && !*row && provenance && !*provenance) return id;
    if (!row || !provenance) return id;  // unreadable: the scheduler will say
  }
}

void print_diff(const replay::RunDiff& diff, const std::string& stored, const std::string& rerun) {
  std::cout << fmt::format("compared {} results and {} final fits of run {} (stored) and {} (rerun)\n",
                           diff.trials_compared, diff.models_compared, stored, rerun);
  std::cout << "rule: " << diff.rule.description << "\n";
  if (diff.differences.empty()) {
    std::cout << "no differences\n";
    return;
  }
  std::cout << fmt::format("{} difference{}:\n", diff.differences.size(),
                           diff.differences.size() == 1 ? "" : "s");
  std::cout << "study\ttrial\tfield\tstored\trerun\n";
  for (const auto& d : diff.differences) {
    std::cout << d.study << "\t" << (d.trial < 0 ? std::string("final") : std::to_string(d.trial))
              << "\t" << d.field << "\t" << d.stored << "\t" << d.rerun << "\n";
  }
}

int rerun(const GlobalOptions& global, const RerunOptions& o) {
  auto current = load_bus_config_or_report(global);
  if (!current) return kRerunImpossible;
  setup_logging("rerun", current->logging, global.log_level);
  install_stop_signals();
  if (auto why = name_problem("run id", o.stored); !why.empty()) return fail(why);
  auto store = ResultsStore::open_read_only(current->storage.results_db);
  if (!store) return fail(store.error());
  auto provenance = store->provenance(o.stored);
  if (!provenance) return fail(provenance.error());
  if (!*provenance) {
    auto row = store->has_schema() ? store->run(o.stored) : Result<std::optional<RunRow>>(std::nullopt);
    if (row && *row) {
      return fail("run " + o.stored + " was stored before nightshift recorded a run's configuration "
                  "and code version; it cannot be re-run exactly");
    }
    return fail("no run '" + o.stored + "' in " + current->storage.results_db);
  }
  auto merged = config::rerun_config((*provenance)->config_yaml, o.stored, *current);
  if (!merged) return fail(merged.error());
  auto results = store->trial_outcomes(o.stored);
  if (!results) return fail(results.error());
  if (results->empty()) return fail("run " + o.stored + " stored no results; nothing to re-run");
  auto uses = datasets_of(*results, merged->fetcher.source, o.stored);
  if (!uses) return fail(uses.error());
  // Before anything starts: the exact bars, or a clear stop. The fetcher
  // runs offline too, so nothing is fetched behind this check's back.
  if (Status s = fetcher::check_datasets(merged->storage.market_db, *uses); !s) return fail(s.error());

  std::string run = o.run.empty() ? free_run_id(*store, o.stored) : o.run;
  if (auto why = name_problem("run id", run); !why.empty()) return fail(why);
  std::filesystem::path folder =
      std::filesystem::path(current->storage.results_db).parent_path() / "reruns";
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  std::string config_path = (folder / (run + ".yaml")).string();
  {
    std::ofstream out(config_path, std::ios::trunc);
    out << "# nightshift rerun " << o.stored << " as " << run << " (config/rerun_config.h)\n"
        << config::to_yaml(*merged);
    if (!out) return fail("cannot write " + config_path);
  }
  merged->source_file = config_path;
  std::cout << fmt::format("rerun of {} as {}: {} results; {} datasets match their stored "
                           "fingerprints in {}\n",
                           o.stored, run, results->size(), uses->size(), merged->storage.market_db);
  std::cout.flush();

  SupervisorOptions options;
  options.config_path = config_path;
  options.log_level = global.log_level;
  options.run = run;
  options.workers = o.workers;
  options.rerun_of = o.stored;
  int code = supervise(*merged, options);
  if (code != kRunCompleted) {
    return fail(fmt::format("run {} did not complete (exit {}); nothing compared", run, code));
  }

  auto after = ResultsStore::open_read_only(current->storage.results_db);
  if (!after) return fail(after.error());
  auto rerun_provenance = after->provenance(run);
  if (!rerun_provenance || !*rerun_provenance) return fail("run " + run + " recorded no provenance");
  auto rule = replay::compare_rule(**provenance, **rerun_provenance);
  auto diff = replay::diff_runs(*after, o.stored, run, rule);
  if (!diff) return fail(diff.error());
  print_diff(*diff, o.stored, run);
  return diff->differences.empty() ? kRerunIdentical : kRerunDiffers;
}

}  // namespace

void add_rerun_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto o = std::make_shared<RerunOptions>();
  auto* cmd = app.add_subcommand(
      "rerun", "Run a stored run again from its stored configuration on its exact datasets "
               "(market cache, offline) and compare the two trial by trial. Exit 0 identical, "
               "1 differences (listed), 2 no rerun");
  cmd->add_option("run", o->stored, "The stored run (see `nightshift runs`)")->required();
  cmd->add_option("--workers", o->workers, "Trainer workers (default: the stored num_workers)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--run-id", o->run, "The rerun's id (default: RUN-rerunN)");
  cmd->callback([&, o] { exit_code = rerun(global, *o); });
}

}  // namespace nightshift::cli
