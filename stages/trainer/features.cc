#include "stages/trainer/features.h"

#include <algorithm>
#include <cmath>

namespace nightshift::trainer {
namespace {

constexpr double kTiny = 1e-12;

// Appends one column; `warmup` is the first bar at which it is defined.
class ColumnWriter {
 public:
  ColumnWriter(FeatureMatrix& out, std::size_t bars) : out_(out), bars_(bars) {}

  std::vector<double>& add(const std::string& name, std::size_t warmup) {
    out_.names.push_back(name);
    columns_.emplace_back(bars_, 0.0);
    warmup_ = std::max(warmup_, warmup);
    return columns_.back();
  }

  void finish() {
    out_.values.resize(static_cast<Eigen::Index>(bars_), static_cast<Eigen::Index>(columns_.size()));
    for (std::size_t j = 0; j < columns_.size(); ++j) {
      for (std::size_t t = 0; t < bars_; ++t) {
        out_.values(static_cast<Eigen::Index>(t), static_cast<Eigen::Index>(j)) = columns_[j][t];
      }
    }
    out_.first_valid_row = std::min(warmup_, bars_);
  }

 private:
  FeatureMatrix& out_;
  std::size_t bars_;
  std::vector<std::vector<double>> columns_;
  std::size_t warmup_ = 0;
};

double safe_log_ratio(double a, double b) {
  return std::log(std::max(a, kTiny) / std::max(b, kTiny));
}

std::vector<double> one_bar_returns(const Bars& bars) {
  std::vector<double> r(bars.size(), 0.0);
  for (std::size_t t = 1; t < bars.size(); ++t) r[t] = safe_log_ratio(bars.close[t], bars.close[t - 1]);
  return r;
}

// Exponential moving average seeded with the first value (forward only).
std::vector<double> ema(const std::vector<double>& x, double alpha) {
  std::vector<double> out(x.size(), 0.0);
  if (x.empty()) return out;
  out[0] = x[0];
  for (std::size_t t = 1; t < x.size(); ++t) out[t] = alpha * x[t] + (1 - alpha) * out[t - 1];
  return out;
}

// Trailing-window mean and standard deviation over x[t-w+1..t].
void rolling_mean_std(const std::vector<double>& x, std::size_t w, std::vector<double>& mean,
                      std::vector<double>& stdev) {
  mean.assign(x.size(), 0.0);
  stdev.assign(x.size(), 0.0);
  for (std::size_t t = 0; t < x.size(); ++t) {
    std::size_t from = t + 1 >= w ? t + 1 - w : 0;
    double sum = 0, sum2 = 0;
    for (std::size_t i = from; i <= t; ++i) sum += x[i];
    double m = sum / static_cast<double>(t + 1 - from);
    for (std::size_t i = from; i <= t; ++i) sum2 += (x[i] - m) * (x[i] - m);
    mean[t] = m;
    stdev[t] = std::sqrt(sum2 / static_cast<double>(t + 1 - from));
  }
}

void add_returns(ColumnWriter& w, const Bars& bars, const FeatureSpec& spec,
                 const std::vector<double>& r1) {
  for (int lag : spec.return_lags) {
    auto& c = w.add("logret_" + std::to_string(lag), static_cast<std::size_t>(lag));
    for (std::size_t t = static_cast<std::size_t>(lag); t < bars.size(); ++t) {
      c[t] = safe_log_ratio(bars.close[t], bars.close[t - static_cast<std::size_t>(lag)]);
    }
  }
  for (int k = 1; k <= spec.lagged_returns; ++k) {
    auto& c = w.add("ret1_lag" + std::to_string(k), static_cast<std::size_t>(k + 1));
    for (std::size_t t = static_cast<std::size_t>(k); t < bars.size(); ++t) c[t] = r1[t - static_cast<std::size_t>(k)];
  }
  for (int window : spec.volatility_windows) {
    std::vector<double> mean, stdev;
    rolling_mean_std(r1, static_cast<std::size_t>(window), mean, stdev);
    w.add("vol_" + std::to_string(window), static_cast<std::size_t>(window)) = stdev;
  }
}

// RSI with Wilder's smoothing, scaled to [-0.5, 0.5].
void add_rsi(ColumnWriter& w, const std::vector<double>& r1, int period) {
  auto& c = w.add("rsi_" + std::to_string(period), static_cast<std::size_t>(period) * 3);
  double gain = 0, loss = 0, alpha = 1.0 / period;
  for (std::size_t t = 1; t < r1.size(); ++t) {
    gain = (1 - alpha) * gain + alpha * std::max(r1[t], 0.0);
    loss = (1 - alpha) * loss + alpha * std::max(-r1[t], 0.0);
    c[t] = gain + loss > kTiny ? gain / (gain + loss) - 0.5 : 0.0;
  }
}

void add_macd(ColumnWriter& w, const Bars& bars, const FeatureSpec& spec) {
  auto fast = ema(bars.close, 2.0 / (spec.macd_fast + 1));
  auto slow = ema(bars.close, 2.0 / (spec.macd_slow + 1));
  std::vector<double> macd(bars.size());
  for (std::size_t t = 0; t < bars.size(); ++t) macd[t] = (fast[t] - slow[t]) / std::max(bars.close[t], kTiny);
  auto signal = ema(macd, 2.0 / (spec.macd_signal + 1));
  auto& c = w.add("macd_hist", static_cast<std::size_t>(spec.macd_slow + spec.macd_signal) * 2);
  for (std::size_t t = 0; t < bars.size(); ++t) c[t] = macd[t] - signal[t];
}

void add_atr(ColumnWriter& w, const Bars& bars, int period) {
  auto& c = w.add("atr_" + std::to_string(period), static_cast<std::size_t>(period) * 3);
  double atr = 0, alpha = 1.0 / period;
  for (std::size_t t = 0; t < bars.size(); ++t) {
    double prev = t > 0 ? bars.close[t - 1] : bars.close[t];
    double tr = std::max({bars.high[t] - bars.low[t], std::abs(bars.high[t] - prev),
                          std::abs(bars.low[t] - prev)});
    atr = t == 0 ? tr : (1 - alpha) * atr + alpha * tr;
    c[t] = atr / std::max(bars.close[t], kTiny);
  }
}

void add_bands_and_volume(ColumnWriter& w, const Bars& bars, const FeatureSpec& spec) {
  std::vector<double> mean, stdev;
  rolling_mean_std(bars.close, static_cast<std::size_t>(spec.bollinger_window), mean, stdev);
  auto& b = w.add("bollinger_pct_b", static_cast<std::size_t>(spec.bollinger_window));
  for (std::size_t t = 0; t < bars.size(); ++t) {
    double width = 4 * stdev[t];
    b[t] = width > kTiny ? (bars.close[t] - (mean[t] - 2 * stdev[t])) / width : 0.5;
  }
  std::vector<double> log_volume(bars.size());
  for (std::size_t t = 0; t < bars.size(); ++t) log_volume[t] = std::log1p(std::max(bars.volume[t], 0.0));
  rolling_mean_std(log_volume, static_cast<std::size_t>(spec.volume_window), mean, stdev);
  auto& v = w.add("volume_z", static_cast<std::size_t>(spec.volume_window));
  for (std::size_t t = 0; t < bars.size(); ++t) v[t] = stdev[t] > kTiny ? (log_volume[t] - mean[t]) / stdev[t] : 0.0;
}

void add_range(ColumnWriter& w, const Bars& bars) {
  auto& range = w.add("range", 0);
  auto& in_range = w.add("close_in_range", 0);
  for (std::size_t t = 0; t < bars.size(); ++t) {
    double hl = bars.high[t] - bars.low[t];
    range[t] = hl / std::max(bars.close[t], kTiny);
    in_range[t] = hl > kTiny ? (bars.close[t] - bars.low[t]) / hl : 0.5;
  }
}

void add_calendar(ColumnWriter& w, const Bars& bars) {
  constexpr double kTwoPi = 6.283185307179586;
  auto& hs = w.add("hour_sin", 0);
  auto& hc = w.add("hour_cos", 0);
  auto& ds = w.add("weekday_sin", 0);
  auto& dc = w.add("weekday_cos", 0);
  for (std::size_t t = 0; t < bars.size(); ++t) {
    int64_t s = bars.ts[t];
    double hour = static_cast<double>((s % 86400 + 86400) % 86400) / 3600.0;
    double weekday = static_cast<double>(((s / 86400) + 3) % 7);  // 1970-01-01 was a Thursday
    hs[t] = std::sin(kTwoPi * hour / 24);
    hc[t] = std::cos(kTwoPi * hour / 24);
    ds[t] = std::sin(kTwoPi * weekday / 7);
    dc[t] = std::cos(kTwoPi * weekday / 7);
  }
}

}  // namespace

FeatureSpec default_feature_spec() { return FeatureSpec{}; }

FeatureMatrix compute_features(const Bars& bars, const FeatureSpec& spec, int timeframe_minutes) {
  FeatureMatrix out;
  out.spec_id = spec.id();
  ColumnWriter writer(out, bars.size());
  auto r1 = one_bar_returns(bars);
  add_returns(writer, bars, spec, r1);
  add_rsi(writer, r1, spec.rsi_period);
  add_macd(writer, bars, spec);
  add_atr(writer, bars, spec.atr_period);
  add_bands_and_volume(writer, bars, spec);
  add_range(writer, bars);
  if (spec.calendar && timeframe_minutes > 0 && timeframe_minutes < 1440) add_calendar(writer, bars);
  writer.finish();
  return out;
}

}  // namespace nightshift::trainer
