// The median pruner (scheduler.pruner: median). No messages during a trial:
// when the scheduler sends a trial it puts into the job, per fold, the
// median over the study's completed (not pruned) trials of their running
// mean fold AUC after that fold; the worker stops after the first fold
// whose running mean falls below its threshold (stages/trainer/trial.h,
// prune_after_fold) and reports the trial `pruned`.
//
// No thresholds until `startup_trials` trials of the study have completed,
// none for the first `warmup_folds` folds, none for the last fold (a trial
// that got there has done the work). Running means leave out folds whose
// AUC is undefined; a fold where no completed trial has a running mean ends
// the list.
#pragma once

#include <optional>
#include <vector>

#include "schema/job_messages.h"

namespace nightshift::scheduler {

// completed_fold_aucs: per completed trial, its fold AUCs in fold order.
std::optional<PruneThresholds> median_thresholds(const std::vector<std::vector<double>>& completed_fold_aucs,
                                                 std::size_t n_folds, int startup_trials, int warmup_folds);

}  // namespace nightshift::scheduler
