// Hyperparameter samplers over a model's search space (config/search_space.h).
//
// random: every trial draws each parameter uniformly (in log space when the
//   parameter is log-scaled); trial 0 tries the model's defaults.
// grid: trial t is point t of the product of the parameters' grids, so a
//   study of grid_size() trials visits each point exactly once.
// tpe: trials below tpe.n_startup_trials draw like random; the rest are left
//   empty by the plan and suggested at dispatch from the study's finished
//   trials and those in flight (tpe_sampler.h).
//
// Every draw is seeded by (tpe.seed, study, trial), so a re-planned or
// resumed run proposes the same trials.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>

#include "config/config.h"

namespace nightshift::scheduler {

using Params = std::map<std::string, double>;

// A generator seeded by (seed, study, trial).
std::mt19937_64 trial_rng(int64_t seed, const std::string& study, int64_t trial);

// One uniform draw of every parameter of `space`.
Params random_params(const config::ModelSpace& space, std::mt19937_64& rng);

// Whether `params` lies in `space` (bounds, whole ints, categorical values).
bool inside(const config::ModelSpace& space, const Params& params);

// The number of points of the grid of `space` (product of the grids).
uint64_t grid_size(const config::ModelSpace& space);
// Point `index` (< grid_size) of that grid; the first parameter varies fastest.
Params grid_params(const config::ModelSpace& space, uint64_t index);

// How many trials the plan makes for a study of `model`: trials_per_study,
// or the grid's size when that is smaller (grid sampler).
int64_t planned_trials(const config::Config& config, const std::string& model);

// The params of trial `trial` as the plan fixes them; empty for a TPE trial
// that is suggested when it is dispatched.
Params plan_params(const config::Config& config, const std::string& model,
                   const std::string& study, int64_t trial);

}  // namespace nightshift::scheduler
