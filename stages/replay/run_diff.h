// `nightshift rerun`'s verdict: two runs of the same plan compared trial by
// trial — params, out-of-fold and per-fold metrics, the data fingerprint,
// and for each final fit its holdout metrics, gates, p- and q-value,
// gates_passed, promoted and decision.
//
// The rule: when both runs record the same binary (build-id) and the same
// logistic kernel clone (x86-64-v3 / baseline), every number must be
// bit-identical. Otherwise numbers agree within a relative tolerance
// (kRerunTolerance, docs/replay.md) and a gate agrees when its verdict (pass
// or fail) does; text fields (decision) must match in both cases.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "schema/results_store.h"

namespace nightshift::replay {

// |a - b| <= kRerunTolerance * max(1, |a|, |b|) across builds or kernels.
inline constexpr double kRerunTolerance = 1e-6;

struct CompareRule {
  bool exact = true;
  std::string description;  // printed: which rule applied and why
};

CompareRule compare_rule(const RunProvenance& stored, const RunProvenance& rerun);

struct Difference {
  std::string study;
  int64_t trial = 0;  // -1: the final fit
  std::string field;  // "metrics.auc", "folds[2].metrics.brier", "model.q_value", "result"
  std::string stored;
  std::string rerun;
};

struct RunDiff {
  CompareRule rule;
  int64_t trials_compared = 0;
  int64_t models_compared = 0;
  std::vector<Difference> differences;
};

Result<RunDiff> diff_runs(ResultsStore& store, const std::string& stored_run,
                          const std::string& rerun, const CompareRule& rule);

}  // namespace nightshift::replay
