#include "stages/scheduler/sampler.h"

#include <algorithm>
#include <climits>
#include <cmath>

namespace nightshift::scheduler {
namespace {

uint64_t fnv1a(const std::string& text) {
  uint64_t hash = 1469598103934665603ULL;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

const config::ModelSpace& space_of(const config::Config& config, const std::string& model) {
  static const config::ModelSpace kEmpty;
  auto found = config.search.find(model);
  return found == config.search.end() ? kEmpty : found->second;
}

}  // namespace

std::mt19937_64 trial_rng(int64_t seed, const std::string& study, int64_t trial) {
  return std::mt19937_64(fnv1a(std::to_string(seed) + "#" + study + "#" + std::to_string(trial)));
}

Params random_params(const config::ModelSpace& space, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Params params;
  for (const auto& [name, p] : space) {
    double u = unit(rng);
    if (p.type == "categorical") {
      auto i = std::min(p.values.size() - 1, static_cast<std::size_t>(u * p.values.size()));
      params[name] = p.values[i];
    } else if (p.type == "int") {
      double lo = p.log ? std::log(p.low - 0.5 > 0 ? p.low - 0.5 : p.low) : p.low - 0.5;
      double hi = p.log ? std::log(p.high + 0.5) : p.high + 0.5;
      double v = lo + u * (hi - lo);
      params[name] = std::clamp(std::round(p.log ? std::exp(v) : v), p.low, p.high);
    } else {
      double v = p.log ? std::exp(std::log(p.low) + u * (std::log(p.high) - std::log(p.low)))
                       : p.low + u * (p.high - p.low);
      params[name] = std::clamp(v, p.low, p.high);
    }
  }
  return params;
}

bool inside(const config::ModelSpace& space, const Params& params) {
  for (const auto& [name, p] : space) {
    auto found = params.find(name);
    if (found == params.end()) return false;
    double v = found->second;
    if (p.type == "categorical") {
      if (std::find(p.values.begin(), p.values.end(), v) == p.values.end()) return false;
      continue;
    }
    if (!(v >= p.low && v <= p.high)) return false;
    if (p.type == "int" && v != std::round(v)) return false;
  }
  return true;
}

uint64_t grid_size(const config::ModelSpace& space) {
  uint64_t size = 1;
  for (const auto& [name, p] : space) {
    uint64_t n = config::grid_points(p).size();
    if (n == 0) return 0;
    size = size > UINT64_MAX / n ? UINT64_MAX : size * n;
  }
  return size;
}

Params grid_params(const config::ModelSpace& space, uint64_t index) {
  Params params;
  for (const auto& [name, p] : space) {
    auto points = config::grid_points(p);
    params[name] = points[index % points.size()];
    index /= points.size();
  }
  return params;
}

int64_t planned_trials(const config::Config& config, const std::string& model) {
  int64_t trials = config.scheduler.trials_per_study;
  if (config.scheduler.sampler != "grid") return trials;
  uint64_t size = grid_size(space_of(config, model));
  return std::min<uint64_t>(static_cast<uint64_t>(trials), size);
}

Params plan_params(const config::Config& config, const std::string& model,
                   const std::string& study, int64_t trial) {
  const config::ModelSpace& space = space_of(config, model);
  const std::string& sampler = config.scheduler.sampler;
  if (sampler == "grid") return grid_params(space, static_cast<uint64_t>(trial));
  if (sampler == "tpe" && trial >= config.scheduler.tpe.n_startup_trials && !space.empty()) {
    return {};
  }
  if (trial == 0) {
    const config::ModelFamily* family = config::find_model_family(model);
    if (family != nullptr) {
      Params defaults;
      for (const auto& [name, p] : space) {
        auto d = family->defaults.find(name);
        if (d != family->defaults.end()) defaults[name] = d->second;
      }
      if (inside(space, defaults)) return defaults;
    }
  }
  auto rng = trial_rng(config.scheduler.tpe.seed, study, trial);
  return random_params(space, rng);
}

}  // namespace nightshift::scheduler
