// Seeded, deterministic synthetic OHLCV bars: geometric Brownian motion with
// GARCH(1,1) volatility clustering, an intraday (U-shaped) volume profile and
// an optional planted predictable component.
//
// The planted component makes the standardised log return an AR(1) process:
//   u_t = s * u_{t-1} + sqrt(1 - s^2) * e_t,   log return r_t = mu + sigma_t * u_t
// where s = signal_strength in [0, 1) and e_t is i.i.d. N(0, 1). The statistic
// that measures it is lag1_return_correlation(): the Pearson correlation of
// one bar's log close-to-close return with the next bar's. It is about s for
// a long series (about 0 when s = 0), so "the previous return predicts the
// next one" is what a model can learn.
//
// Same spec, same bytes: the generator uses its own 64-bit PRNG and normal
// transform (not std::normal_distribution, whose output differs between
// standard libraries). Symbols are mixed into the seed, so two symbols with
// the same seed get different paths.
#pragma once

#include <cstdint>
#include <string>

#include <map>

#include "schema/data_messages.h"
#include "stages/fetcher/source.h"

namespace nightshift::fetcher {

struct SyntheticSpec {
  std::string symbol = "SYNTH";
  int timeframe_minutes = 60;
  int64_t start_ts = 1'704'067'200;  // first bar open time, seconds (2024-01-01T00:00Z)
  int64_t bar_count = 1000;
  uint64_t seed = 42;
  double signal_strength = 0.0;  // s in [0, 1): 0 = pure random walk
  double start_price = 100.0;
  double annual_volatility = 0.6;  // long-run level the GARCH process returns to
};

// Generates spec.bar_count bars, oldest first, ts = start_ts + i * timeframe.
// start_ts is aligned down to the timeframe. Invalid specs (timeframe < 1,
// negative count, signal outside [0, 1), price <= 0) yield an empty Bars.
Bars generate_synthetic(const SyntheticSpec& spec);

// Like generate_synthetic, but keeps only bars with from_ts <= ts < to_ts
// (the path still starts at spec.start_ts; spec.bar_count is ignored).
Bars generate_synthetic_window(const SyntheticSpec& spec, int64_t from_ts, int64_t to_ts);

// Pearson correlation of consecutive log close-to-close returns; 0 when the
// series has fewer than 3 bars or no variance.
double lag1_return_correlation(const Bars& bars);

// The synthetic Source used by the fetcher stage. Every series starts at
// kSyntheticOrigin (2020-01-01T00:00Z), whatever range is asked for, so
// overlapping requests see the same bars; ranges before the origin are empty.
class SyntheticSource : public BarSource {
 public:
  static constexpr int64_t kSyntheticOrigin = 1'577'836'800;

  SyntheticSource(uint64_t seed, double default_signal, std::map<std::string, double> signals)
      : seed_(seed), default_signal_(default_signal), signals_(std::move(signals)) {}
  std::string name() const override { return "synthetic"; }
  bool synthetic() const override { return true; }
  Result<Bars> fetch(const FetchRange& range, const ProgressSink& progress) override;

 private:
  uint64_t seed_;
  double default_signal_;
  std::map<std::string, double> signals_;
};

}  // namespace nightshift::fetcher
