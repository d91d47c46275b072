// The Tree-structured Parzen Estimator (Bergstra et al., 2011), univariate as
// in Optuna's default: finished trials are split by value into the best
// `gamma` share ("good") and the rest ("bad"); per parameter a Parzen
// estimator is fitted to each group (truncated Gaussians in the parameter's
// own or log space, one per trial plus a wide prior; categorical: counts plus
// a prior weight), `n_candidates` points are drawn from the good density and
// the one with the largest l(x) / g(x) is suggested.
//
// Trials in flight (sent, no result yet) count as bad trials (a constant
// liar: the worst value), so the density pushes the next suggestion away
// from them, and a suggestion is never equal to a trial in flight.
//
// Cost per suggestion: O(finished trials x n_candidates x parameters); no
// state beyond its arguments, so a restarted scheduler suggests exactly what
// it would have from the same persisted trials.
#pragma once

#include <random>
#include <vector>

#include "config/config.h"
#include "stages/scheduler/sampler.h"

namespace nightshift::scheduler {

struct FinishedTrial {
  Params params;
  double value = 0;  // larger is better (CV AUC)
};

Params tpe_suggest(const config::ModelSpace& space, const std::vector<FinishedTrial>& finished,
                   const std::vector<Params>& in_flight, const config::TpeConfig& tpe,
                   std::mt19937_64& rng);

}  // namespace nightshift::scheduler
