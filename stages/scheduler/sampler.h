// Hyperparameter samplers: the params of trial N of a study. Deterministic in
// (study, trial), so a resumed or re-planned run proposes the same trials.
// Trial 0 always gets the model's defaults; "random" draws the rest
// log-uniformly, "grid" walks a fixed grid. "tpe" draws like "random" until
// the adaptive search lands (issue 7), which will read past trials from the
// results database.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace nightshift::scheduler {

std::map<std::string, double> sample_params(const std::string& sampler, const std::string& model,
                                            const std::string& study, int64_t trial);

}  // namespace nightshift::scheduler
