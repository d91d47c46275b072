// What the persister refuses to store. Anything may push to the results
// pipeline, so a result is a claim until it passes two checks:
//
//   content_problem()  on intake, while the message is whole: run and study
//                      names match the name pattern (schema/names.h), every
//                      metric is finite and in its range (AUC, accuracy,
//                      Brier and p-values in [0, 1], log loss >= 0), times
//                      are finite and not negative, and a final fit's
//                      artifact is an existing file inside
//                      storage.artifacts_dir (after resolving symlinks).
//   ResultGuard        on the writer, in commit order: the run is known, the
//                      job is in the plan its scheduler recorded, and the
//                      dispatch token is the one derived from the run's key
//                      for that attempt (schema/dispatch_token.h).
//
// A checkpoint is a claim too: it must name valid runs, studies and symbols,
// carry a dispatch key, and for a run already stored, the same key. Refused
// messages are counted and logged by the persister, never stored.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <unordered_set>
#include <string>

#include "schema/dispatch_token.h"
#include "schema/job_messages.h"
#include "schema/results_store.h"

namespace nightshift::persister {

// "" when the result's content may be stored; otherwise why not.
// `artifacts_root` is storage.artifacts_dir.
std::string content_problem(const JobResult& result, const std::string& artifacts_root);

class ResultGuard {
 public:
  // With `only_run`, results and checkpoints of any other run are refused
  // (a persister the supervisor starts serves one run).
  explicit ResultGuard(ResultsStore& store, std::string only_run = "")
      : store_(store), only_run_(std::move(only_run)) {}

  // "" when `result` belongs to a planned job of a known run and carries
  // that attempt's token; otherwise why not.
  std::string admit(const JobResult& result);
  // "" when `checkpoint` may be stored; otherwise why not.
  std::string admit(const RunCheckpoint& checkpoint);
  // A checkpoint was written: its plan and key are now the run's.
  void learn(const RunCheckpoint& checkpoint);
  // The transaction rolled back: what was learned since may not be stored.
  void forget() { runs_.clear(); }
  // The recorded spec of an admitted result's study (what the result cache
  // keys on); nullptr when the plan has none.
  const Job* study_spec(const JobKey& key);

 private:
  struct RunPlan {
    std::string key;                 // the run's dispatch key
    std::unique_ptr<DispatchSigner> signer;  // under that key
    std::unordered_set<std::string> jobs;  // "study/trial"
    std::map<std::string, Job> studies;    // study -> its final fit's spec
  };
  // The run as the database has it; nullptr when unknown or keyless.
  RunPlan* plan(const std::string& run);

  ResultsStore& store_;
  std::string only_run_;
  std::map<std::string, RunPlan> runs_;
};

}  // namespace nightshift::persister
