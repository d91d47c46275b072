#include "stages/scheduler/tpe_sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace nightshift::scheduler {
namespace {

constexpr double kPriorWeight = 1.0;
constexpr int kMaxRejections = 64;

double log_sum_exp(const std::vector<double>& terms) {
  double top = -INFINITY;
  for (double t : terms) top = std::max(top, t);
  if (!std::isfinite(top)) return top;
  double sum = 0;
  for (double t : terms) sum += std::exp(t - top);
  return top + std::log(sum);
}

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

// A numeric parameter in the space the estimator works in: log for a
// log-scaled parameter, widened by half a step for an int one.
struct Axis {
  const config::ParamSpace& p;
  double lo = 0, hi = 0;

  explicit Axis(const config::ParamSpace& space) : p(space) {
    double low = p.low, high = p.high;
    if (p.type == "int") {
      low = p.log ? std::max(low - 0.5, low / 2) : low - 0.5;
      high += 0.5;
    }
    lo = p.log ? std::log(low) : low;
    hi = p.log ? std::log(high) : high;
  }
  double to_axis(double v) const { return p.log ? std::log(v) : v; }
  double from_axis(double x) const {
    double v = p.log ? std::exp(x) : x;
    if (p.type == "int") v = std::round(v);
    return std::clamp(v, p.low, p.high);
  }
};

// A mixture of equally weighted Gaussians truncated to [lo, hi]: one per
// observation, plus a prior as wide as the range at its centre. Bandwidth:
// Scott's rule on the observations, clipped to [range / min(100, n + 1), range].
class Parzen {
 public:
  Parzen(const std::vector<double>& xs, double lo, double hi) : lo_(lo), hi_(hi) {
    const double width = hi - lo;
    double sigma = width;
    if (!xs.empty()) {
      double mean = std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
      double var = 0;
      for (double x : xs) var += (x - mean) * (x - mean);
      double sd = std::sqrt(var / static_cast<double>(xs.size()));
      double n = static_cast<double>(xs.size() + 1);
      sigma = std::clamp(1.06 * sd * std::pow(n, -0.2), width / std::min(100.0, n + 1), width);
    }
    for (double x : xs) add(x, sigma, 1.0);
    add(0.5 * (lo + hi), width, kPriorWeight);
    double total = std::accumulate(weights_.begin(), weights_.end(), 0.0);
    for (double& w : weights_) w = std::log(w / total);
  }

  double log_pdf(double x) const {
    std::vector<double> terms(mus_.size());
    for (std::size_t k = 0; k < mus_.size(); ++k) {
      double z = (x - mus_[k]) / sigmas_[k];
      terms[k] = weights_[k] - 0.5 * z * z - std::log(sigmas_[k] * std::sqrt(2 * M_PI)) -
                 log_mass_[k];
    }
    return log_sum_exp(terms);
  }

  double sample(std::mt19937_64& rng) const {
    std::vector<double> w(weights_.size());
    for (std::size_t k = 0; k < w.size(); ++k) w[k] = std::exp(weights_[k]);
    std::size_t k = std::discrete_distribution<std::size_t>(w.begin(), w.end())(rng);
    std::normal_distribution<double> normal(mus_[k], sigmas_[k]);
    for (int i = 0; i < kMaxRejections; ++i) {
      double x = normal(rng);
      if (x >= lo_ && x <= hi_) return x;
    }
    return std::uniform_real_distribution<double>(lo_, hi_)(rng);
  }

 private:
  void add(double mu, double sigma, double weight) {
    mus_.push_back(mu);
    sigmas_.push_back(sigma);
    weights_.push_back(weight);
    double mass = normal_cdf((hi_ - mu) / sigma) - normal_cdf((lo_ - mu) / sigma);
    log_mass_.push_back(std::log(std::max(mass, 1e-300)));
  }

  double lo_, hi_;
  std::vector<double> mus_, sigmas_, weights_, log_mass_;
};

// Counts of each choice plus a prior weight shared by all choices.
class CategoricalParzen {
 public:
  CategoricalParzen(const std::vector<double>& xs, const std::vector<double>& choices)
      : choices_(choices), weights_(choices.size(), kPriorWeight / static_cast<double>(choices.size())) {
    for (double x : xs) {
      auto at = std::find(choices_.begin(), choices_.end(), x);
      if (at != choices_.end()) weights_[static_cast<std::size_t>(at - choices_.begin())] += 1;
    }
    total_ = std::accumulate(weights_.begin(), weights_.end(), 0.0);
  }
  double log_pmf(double x) const {
    auto at = std::find(choices_.begin(), choices_.end(), x);
    if (at == choices_.end()) return -INFINITY;
    return std::log(weights_[static_cast<std::size_t>(at - choices_.begin())] / total_);
  }
  double sample(std::mt19937_64& rng) const {
    return choices_[std::discrete_distribution<std::size_t>(weights_.begin(), weights_.end())(rng)];
  }

 private:
  std::vector<double> choices_, weights_;
  double total_ = 0;
};

// One parameter's candidates, best l/g first.
std::vector<double> ranked_candidates(const config::ParamSpace& p, const std::string& name,
                                      const std::vector<const Params*>& good,
                                      const std::vector<const Params*>& bad, int n_candidates,
                                      std::mt19937_64& rng) {
  auto values_of = [&](const std::vector<const Params*>& group, auto transform) {
    std::vector<double> xs;
    for (const Params* params : group) {
      auto found = params->find(name);
      if (found != params->end()) xs.push_back(transform(found->second));
    }
    return xs;
  };
  std::vector<std::pair<double, double>> scored;  // (score, value)
  if (p.type == "categorical") {
    auto same = [](double v) { return v; };
    CategoricalParzen l(values_of(good, same), p.values), g(values_of(bad, same), p.values);
    for (int i = 0; i < n_candidates; ++i) {
      double v = l.sample(rng);
      scored.emplace_back(l.log_pmf(v) - g.log_pmf(v), v);
    }
  } else {
    Axis axis(p);
    auto to_axis = [&](double v) { return axis.to_axis(v); };
    Parzen l(values_of(good, to_axis), axis.lo, axis.hi), g(values_of(bad, to_axis), axis.lo, axis.hi);
    for (int i = 0; i < n_candidates; ++i) {
      double x = l.sample(rng);
      double v = axis.from_axis(x);
      // An int is scored where it lands, so equal candidates score equally.
      double at = p.type == "int" ? axis.to_axis(v) : x;
      scored.emplace_back(l.log_pdf(at) - g.log_pdf(at), v);
    }
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<double> ranked;
  for (const auto& [score, value] : scored) ranked.push_back(value);
  return ranked;
}

bool taken(const Params& params, const std::vector<Params>& in_flight) {
  return std::find(in_flight.begin(), in_flight.end(), params) != in_flight.end();
}

}  // namespace

Params tpe_suggest(const config::ModelSpace& space, const std::vector<FinishedTrial>& finished,
                   const std::vector<Params>& in_flight, const config::TpeConfig& tpe,
                   std::mt19937_64& rng) {
  if (finished.empty() || static_cast<int64_t>(finished.size()) < tpe.n_startup_trials) {
    Params drawn = random_params(space, rng);
    for (int i = 0; i < kMaxRejections && taken(drawn, in_flight); ++i) drawn = random_params(space, rng);
    return drawn;
  }
  // The best ceil(gamma * n) trials are good; ties go to the earlier trial,
  // so the split does not depend on anything but the values and their order.
  std::vector<std::size_t> order(finished.size());
  std::iota(order.begin(), order.end(), 0);
  auto n_good = std::max<std::size_t>(
      1, static_cast<std::size_t>(std::ceil(tpe.gamma * static_cast<double>(finished.size()))));
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_good - 1),
                   order.end(), [&](std::size_t a, std::size_t b) {
                     if (finished[a].value != finished[b].value) return finished[a].value > finished[b].value;
                     return a < b;
                   });
  std::vector<const Params*> good, bad;
  for (std::size_t i = 0; i < order.size(); ++i) {
    (i < n_good ? good : bad).push_back(&finished[order[i]].params);
  }
  for (const Params& running : in_flight) bad.push_back(&running);  // the constant liar

  std::vector<std::pair<std::string, std::vector<double>>> ranked;
  Params best;
  for (const auto& [name, p] : space) {
    ranked.emplace_back(name, ranked_candidates(p, name, good, bad, tpe.n_candidates, rng));
    best[name] = ranked.back().second.front();
  }
  if (!taken(best, in_flight)) return best;
  // Equal to a trial in flight: the next best value of one parameter.
  for (std::size_t rank = 1; rank < static_cast<std::size_t>(tpe.n_candidates); ++rank) {
    for (const auto& [name, candidates] : ranked) {
      Params other = best;
      other[name] = candidates[rank];
      if (!taken(other, in_flight)) return other;
    }
  }
  Params drawn = random_params(space, rng);
  for (int i = 0; i < kMaxRejections && taken(drawn, in_flight); ++i) drawn = random_params(space, rng);
  return drawn;
}

}  // namespace nightshift::scheduler
