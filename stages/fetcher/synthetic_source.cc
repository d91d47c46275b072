#include "stages/fetcher/synthetic_source.h"

#include <cmath>
#include <cstdlib>
#include <utility>
#include <numbers>

namespace nightshift::fetcher {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

// xoshiro256**: small, fast, and its output is fixed by its definition.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& word : s_) word = splitmix64(seed);
  }
  uint64_t next() {
    uint64_t result = rotl(s_[1] * 5, 7) * 9;
    uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in (0, 1): never 0, so log() is safe.
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  // Standard normal by Box-Muller (one value per call; simple beats fast here).
  double normal() {
    double u1 = uniform();
    double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// U-shaped activity over the UTC day: busiest at the day's open and close.
double intraday_volume_shape(int64_t ts, int timeframe_minutes) {
  if (timeframe_minutes >= 1440) return 1.0;
  double day_fraction = static_cast<double>(((ts % 86400) + 86400) % 86400) / 86400.0;
  double x = 2.0 * day_fraction - 1.0;  // -1 at 00:00, 0 at 12:00, 1 at 24:00
  return 0.5 + 1.5 * x * x;
}

bool valid(const SyntheticSpec& spec) {
  return spec.timeframe_minutes >= 1 && spec.bar_count >= 0 && spec.signal_strength >= 0.0 &&
         spec.signal_strength < 1.0 && spec.start_price > 0.0 && spec.annual_volatility > 0.0;
}

}  // namespace

Bars generate_synthetic(const SyntheticSpec& spec) {
  const int64_t step_s = static_cast<int64_t>(spec.timeframe_minutes) * 60;
  if (step_s <= 0 || spec.bar_count < 0) return Bars{};
  const int64_t start = spec.start_ts - (((spec.start_ts % step_s) + step_s) % step_s);
  return generate_synthetic_window(spec, INT64_MIN, start + spec.bar_count * step_s);
}

Bars generate_synthetic_window(const SyntheticSpec& spec, int64_t from_ts, int64_t to_ts) {
  Bars bars;
  if (!valid(spec)) return bars;
  const int64_t step_s = static_cast<int64_t>(spec.timeframe_minutes) * 60;
  const int64_t start = spec.start_ts - (((spec.start_ts % step_s) + step_s) % step_s);
  const int64_t count = to_ts > start ? (to_ts - start + step_s - 1) / step_s : 0;
  const int64_t first_kept = from_ts > start ? (from_ts - start + step_s - 1) / step_s : 0;
  if (count > first_kept) bars.reserve(static_cast<std::size_t>(count - first_kept));

  Rng rng(spec.seed ^ fnv1a(spec.symbol) ^ (static_cast<uint64_t>(spec.timeframe_minutes) << 32));
  // GARCH(1,1): var_t = omega + alpha * shock_{t-1}^2 + beta * var_{t-1}.
  const double bar_sigma =
      spec.annual_volatility * std::sqrt(spec.timeframe_minutes / (365.0 * 24.0 * 60.0));
  const double long_run_var = bar_sigma * bar_sigma;
  const double alpha = 0.08, beta = 0.90;
  const double omega = long_run_var * (1.0 - alpha - beta);
  const double s = spec.signal_strength;
  const double noise_weight = std::sqrt(1.0 - s * s);
  const double drift = -0.5 * long_run_var;  // keeps the expected price flat
  const double base_volume = 1000.0 * spec.timeframe_minutes;

  double var = long_run_var, prev_shock = 0.0, u = 0.0, close = spec.start_price;
  for (int64_t i = 0; i < count; ++i) {
    var = omega + alpha * prev_shock * prev_shock + beta * var;
    double sigma = std::sqrt(var);
    u = s * u + noise_weight * rng.normal();
    prev_shock = sigma * u;
    const double open = close;
    close = open * std::exp(drift + prev_shock);
    const double wick_up = std::abs(rng.normal()) * sigma * 0.5;
    const double wick_down = std::abs(rng.normal()) * sigma * 0.5;
    const double volume_noise = std::exp(0.3 * rng.normal());
    const int64_t ts = start + i * step_s;
    // Bars before the window are still walked (same draws), so every window
    // of a path shows the same bars.
    if (i < first_kept) continue;
    bars.push_back({.ts = ts,
                    .open = open,
                    .high = std::max(open, close) * std::exp(wick_up),
                    .low = std::min(open, close) * std::exp(-wick_down),
                    .close = close,
                    .volume = base_volume * intraday_volume_shape(ts, spec.timeframe_minutes) *
                              (1.0 + 4.0 * std::abs(u)) * volume_noise});
  }
  return bars;
}

Result<Bars> SyntheticSource::fetch(const FetchRange& range, const ProgressSink& progress) {
  int minutes = 0;
  for (auto [suffix, unit] : {std::pair{'m', 1}, {'h', 60}, {'d', 1440}, {'w', 10080}}) {
    if (!range.timeframe.empty() && range.timeframe.back() == suffix) {
      minutes = std::atoi(range.timeframe.c_str()) * unit;
    }
  }
  if (minutes <= 0) return make_error("synthetic: unknown timeframe '" + range.timeframe + "'");
  SyntheticSpec spec;
  spec.symbol = range.symbol;
  spec.timeframe_minutes = minutes;
  spec.start_ts = kSyntheticOrigin;
  spec.seed = seed_;
  auto found = signals_.find(range.symbol);
  spec.signal_strength = found != signals_.end() ? found->second : default_signal_;
  Bars bars = generate_synthetic_window(spec, range.start_ts, range.end_ts);
  if (progress) progress(1.0);
  return bars;
}

double lag1_return_correlation(const Bars& bars) {
  if (bars.size() < 3) return 0.0;
  std::vector<double> r;
  r.reserve(bars.size() - 1);
  for (std::size_t i = 1; i < bars.size(); ++i) r.push_back(std::log(bars.close[i] / bars.close[i - 1]));
  const std::size_t n = r.size() - 1;
  double mean_x = 0, mean_y = 0;
  for (std::size_t i = 0; i < n; ++i) {
    mean_x += r[i];
    mean_y += r[i + 1];
  }
  mean_x /= static_cast<double>(n);
  mean_y /= static_cast<double>(n);
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double dx = r[i] - mean_x, dy = r[i + 1] - mean_y;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx <= 0 || syy <= 0) return 0.0;
  return sxy / std::sqrt(sxx * syy);
}

}  // namespace nightshift::fetcher
