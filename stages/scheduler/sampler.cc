#include "stages/scheduler/sampler.h"

#include <array>
#include <cmath>
#include <random>

namespace nightshift::scheduler {
namespace {

uint64_t fnv1a(const std::string& text, int64_t trial) {
  uint64_t hash = 1469598103934665603ULL;
  for (char c : text + "#" + std::to_string(trial)) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

constexpr std::array<double, 6> kGridC = {0.01, 0.1, 0.3, 1.0, 3.0, 10.0};
constexpr std::array<double, 3> kGridL1 = {0.1, 0.5, 0.9};

bool has_l1_ratio(const std::string& model) { return model == "logreg_enet"; }

}  // namespace

std::map<std::string, double> sample_params(const std::string& sampler, const std::string& model,
                                            const std::string& study, int64_t trial) {
  std::map<std::string, double> params{{"C", 1.0}};
  if (has_l1_ratio(model)) params["l1_ratio"] = 0.5;
  if (trial <= 0) return params;
  if (sampler == "grid") {
    auto index = static_cast<std::size_t>(trial);
    params["C"] = kGridC[index % kGridC.size()];
    if (has_l1_ratio(model)) params["l1_ratio"] = kGridL1[(index / kGridC.size()) % kGridL1.size()];
    return params;
  }
  std::mt19937_64 rng(fnv1a(study, trial));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  params["C"] = std::pow(10.0, -3.0 + 5.0 * unit(rng));  // 1e-3 .. 1e2
  if (has_l1_ratio(model)) params["l1_ratio"] = unit(rng);
  return params;
}

}  // namespace nightshift::scheduler
