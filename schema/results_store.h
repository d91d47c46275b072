// ResultsStore: the typed store over the results database
// (config.storage.results_db). The persister opens it for writing (and is the
// only writer); every other command opens it read-only for status, history,
// estimates and resume. Opening for writing applies the migrations.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "schema/job_messages.h"
#include "schema/result.h"
#include "schema/result_cache.h"
#include "schema/sqlite.h"

namespace nightshift {

struct RunRow {
  std::string run;
  RunStatus status = RunStatus::running;
  std::string config_path;
  int64_t started_ns = 0;
  int64_t updated_ns = 0;
  std::optional<int64_t> finished_ns;
  int64_t total_jobs = 0;
  int64_t done_jobs = 0;
  int64_t skipped_jobs = 0;
  // Set when the run completed and its promotions were decided: the FDR
  // level and how many studies the family held (decide_promotions()).
  std::optional<double> fdr_q;
  std::optional<int64_t> studies_tested;
};

// One study's outcome, for the summary table.
struct StudyRow {
  std::string study;
  std::string best_params;  // JSON of the best trial's params
  std::optional<double> cv_auc;
  std::optional<double> holdout_auc;
  std::optional<bool> promoted;
  std::optional<double> p_value;  // the holdout AUC test's (calibrated) p-value
  std::optional<double> q_value;  // BH-adjusted over the run, once it completed
  std::string verdict;  // "promoted", the failed gates, or why there is no model
};

// How many rows a run has left in each table: what `status` reports.
struct RunCounts {
  int64_t result_rows = 0;      // trials rows (one per job that succeeded)
  int64_t retried_results = 0;  // of those, rows from an attempt after the first
  int64_t failed_attempts = 0;  // failures rows
  int64_t models = 0;           // final fits stored
  int64_t promoted = 0;         // of those, promoted
  int64_t gates_passed = 0;     // of those, passing the per-study gates
  int64_t pruned_trials = 0;    // trials rows the median pruner stopped (status 'pruned')
  // Result rows per host: the part of trials.worker ("host/id") before '/'.
  std::map<std::string, int64_t> results_by_host;
  // Distinct workers (trials.worker) that stored results, per host.
  std::map<std::string, int64_t> workers_by_host;
  // Host telemetry samples stored while the run ran (started .. finished or
  // last update), per host: which hosts had a telemetry stage.
  std::map<std::string, int64_t> telemetry_by_host;
};

// An alert whose latest message says it is firing.
struct ActiveAlert {
  std::string topic;  // alert.<level>.<host>.<metric>
  int64_t since_ns = 0;
  std::string level;
  std::string message;
};

// One stored trial result, for the gateway's /api/runs/{id}/trials.
struct TrialRow {
  std::string study;
  int64_t trial = 0;
  std::string kind;
  int64_t attempt = 0;
  std::string worker;
  std::string params;   // JSON object
  std::string metrics;  // JSON object
  double wall_s = 0;
  double cpu_s = 0;
  int64_t peak_rss_bytes = 0;
  bool cache_hit = false;
  int64_t persisted_ns = 0;
};

// One failed attempt.
struct FailureRow {
  std::string study;
  int64_t trial = 0;
  int64_t attempt = 0;
  std::string reason;
  std::string worker;
  int64_t persisted_ns = 0;
};

// A stored telemetry sample: the JSON the persister kept (frame_to_json).
struct TelemetryRow {
  int64_t ts_ns = 0;
  std::string topic;
  std::string json;
};

struct TimeframeTiming {
  std::string timeframe;
  int64_t trials = 0;
  double mean_wall_s = 0;
};

// A result's JSON columns: params, metrics and per-fold metrics (empty for a
// failed result, whose row keeps none). The persister renders them on its
// intake thread right after decoding, while the maps are still in that
// core's cache; walking them later on the writer's core cost more than the
// rendering itself.
struct ResultJson {
  std::string params;
  std::string metrics;
  std::string folds;
  static ResultJson of(const JobResult& result);
};

// What a run was made from (run_provenance, migration 004): written by the
// persister when it starts for a run; `nightshift rerun` reads it.
struct RunProvenance {
  std::string run;
  std::string config_yaml;  // the effective configuration, config::to_yaml
  std::string code_commit;
  bool code_dirty = false;
  std::string build_id;
  std::string compiler;
  std::string kernel_isa;             // "x86-64-v3" or "baseline"
  std::optional<std::string> rerun_of;
  int64_t recorded_ns = 0;
};

// One stored result as `nightshift rerun` compares it, with the bars it was
// computed on.
struct TrialOutcome {
  std::string study;
  int64_t trial = 0;  // kFinalTrial for the final fit
  std::string symbol;
  std::string timeframe;
  std::string params;   // JSON object
  std::string metrics;  // JSON object
  std::string folds;    // JSON array
  std::string data_fingerprint;
  std::optional<int64_t> data_first_ts;  // bar open times, seconds
  std::optional<int64_t> data_last_ts;
};

// A final fit's verdict, as decided when its run completed.
struct ModelOutcome {
  std::string study;
  std::string metrics;  // JSON object: holdout metrics
  std::string gates;    // JSON object
  bool promoted = false;
  std::optional<bool> gates_passed;
  std::optional<double> p_value;
  std::optional<double> q_value;
  std::string decision;
};

// "run/study/trial", the key used in sets of persisted jobs.
std::string job_key_text(const JobKey& key);

class ResultsStore {
 public:
  // Writer: creates the file, sets WAL/synchronous/busy_timeout, migrates.
  static Result<ResultsStore> open_for_writing(const std::string& path);
  // Reader: the file must exist; never writes.
  static Result<ResultsStore> open_read_only(const std::string& path);

  sql::Database& db() { return db_; }

  // Writes; call inside a transaction (sql::Transaction::begin(db())).
  // `inserted` says whether this delivery created the row (false: duplicate).
  Status put_result(const JobResult& result, int64_t ts_ns, bool& inserted);
  Status put_result(const JobResult& result, const ResultJson& json, int64_t ts_ns,
                    bool& inserted);
  Status put_checkpoint(const RunCheckpoint& checkpoint, int64_t ts_ns);
  // The run's promotions, decided over all its final fits (call when it
  // completed; idempotent, so a resumed run is decided over the whole run):
  // Benjamini-Hochberg q-values of the studies' holdout p-values; a study is
  // promoted when it passed the per-study gates and q <= fdr_q. Each model
  // row keeps p, q and its decision; the run row keeps fdr_q and the count.
  Status decide_promotions(const std::string& run, double fdr_q);
  Status put_event(std::string_view topic, std::string_view type, int64_t ts_ns,
                   std::string_view body);
  Status put_alert(std::string_view topic, int64_t ts_ns, const std::string& json);
  Status put_telemetry(std::string_view topic, int64_t ts_ns, const std::string& json);
  Status prune_telemetry(int64_t older_than_ns);
  // Keeps the first record of a run (a restarted persister changes nothing).
  Status put_provenance(const RunProvenance& provenance);

  // Reads. has_schema() is false while the persister has created the file
  // but not yet applied the migrations.
  bool has_schema();
  Result<std::vector<RunRow>> runs();
  Result<std::optional<RunRow>> run(const std::string& run);
  Result<std::optional<RunCheckpoint>> checkpoint(const std::string& run);
  // The run's stored results: "run/study/trial" -> the attempt that made the row.
  Result<std::map<std::string, uint32_t>> persisted_jobs(const std::string& run);
  // The run's dispatch key, absent for an unknown run or one stored before keys.
  Result<std::optional<std::string>> dispatch_key(const std::string& run);
  // The run's plan as the checkpoints recorded it: "study/trial" of every job.
  Result<std::set<std::string>> planned_jobs(const std::string& run);
  // What the database holds of a job.persisted claim: for ok, the attempt
  // of the job's result row; for failed, the claimed attempt if its failure
  // row exists. Absent when the database does not back the claim.
  Result<std::optional<uint32_t>> stored_attempt(const PersistedResult& claim);
  Result<RunCounts> run_counts(const std::string& run);
  // The params of the completed (not pruned) trial with the best
  // out-of-fold AUC in a study.
  Result<std::optional<std::map<std::string, double>>> best_trial_params(const std::string& run,
                                                                         const std::string& study);
  // Every finished trial of a study, by trial number: its params and its
  // out-of-fold AUC (what the TPE sampler learns from). A pruned trial is
  // in it with its AUC over the folds it ran.
  Result<std::vector<std::pair<std::map<std::string, double>, double>>> finished_trials(
      const std::string& run, const std::string& study);
  // Per completed (status 'ok') trial of a study, by trial number, its fold
  // AUCs in fold order (NaN where a fold's AUC is undefined): what the
  // median pruner's thresholds come from.
  Result<std::vector<std::vector<double>>> completed_fold_aucs(const std::string& run,
                                                               const std::string& study);
  Result<std::vector<StudyRow>> studies(const std::string& run);
  // Mean wall time per timeframe of the rows workers computed (a row from
  // the result cache took no time).
  Result<std::vector<TimeframeTiming>> timeframe_timings();
  // For `nightshift rerun` (schema/results_store_rerun.cc): absent for an
  // unknown run or one stored before provenance was recorded.
  Result<std::optional<RunProvenance>> provenance(const std::string& run);
  // Every stored result / final fit of a run, by study and trial.
  Result<std::vector<TrialOutcome>> trial_outcomes(const std::string& run);
  Result<std::vector<ModelOutcome>> model_outcomes(const std::string& run);
  // History for the gateway (schema/results_store_history.cc).
  Result<std::vector<TrialRow>> trials(const std::string& run, const std::string& study);
  Result<std::vector<FailureRow>> failures(const std::string& run, int limit);
  // The scheduler's jobs of a run by state (pending, running, done, ...).
  Result<std::map<std::string, int64_t>> job_states(const std::string& run);
  // GPU samples stored since `since_ns`, oldest first, at most `limit`.
  Result<std::vector<TelemetryRow>> gpu_history(int64_t since_ns, int limit);
  // Alerts are published on change (firing, then resolved): those whose
  // latest stored message is a firing one.
  Result<std::vector<ActiveAlert>> active_alerts();

  // The result cache (schema/results_store_cache.cc, docs/cache.md).
  // Reads: an entry by key (expired or not: the caller decides), the
  // whole cache, one run's hits, misses and removals.
  Result<std::optional<CacheEntry>> cache_entry(const std::string& key);
  // One job spec per study of a run's recorded plan (its final fit's): what
  // the persister keys the study's results on.
  Result<std::map<std::string, Job>> planned_study_specs(const std::string& run);
  Result<CacheSummary> cache_summary(int64_t now_ns);
  Result<RunCacheStats> run_cache_stats(const std::string& run);
  // Writes (the persister, inside its transaction). put_cache_entry
  // replaces an entry under the same key.
  Status put_cache_entry(const CacheEntry& entry);
  // A hit: copies the entry's trials row (and models row) into `hit`'s job,
  // marked cache_hit, and counts the hit on the entry. False when the rows
  // it stands for are gone; `inserted` false when the job had its row already.
  Result<bool> copy_cached_result(const JobResult& hit, const CacheEntry& entry, int64_t now_ns,
                                  bool& inserted);
  // Deletes up to `max_rows` expired entries, then the least recently used
  // beyond `max_entries`, and adds the counts to `run`'s cache_cleanups row.
  Result<CacheCleanup> clean_cache(int64_t now_ns, int64_t max_entries, const std::string& run,
                                   int max_rows);
  // Deletes every entry; returns how many there were.
  Result<int64_t> clear_cache();

 private:
  explicit ResultsStore(sql::Database db) : db_(std::move(db)) {}
  Status prepare_writes();

  sql::Database db_;
  sql::Statement insert_trial_;
  sql::Statement insert_failure_;
  sql::Statement insert_model_;
  sql::Statement insert_event_;
  sql::Statement select_trial_;    // stored_attempt(), prepared on first use
  sql::Statement select_failure_;
};

}  // namespace nightshift
