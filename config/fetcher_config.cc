#include "config/fetcher_config.h"

#include <optional>
#include <vector>

#include "config/config.h"
#include "config/config_reader.h"

namespace nightshift::config {

void read_section(ConfigReader& r, SourcePoliteness& p) {
  r.field("requests_per_s", p.requests_per_s, 0.001, 1000);
  r.field("burst", p.burst, 1, 1000);
  r.field("max_retries", p.max_retries, 0, 20);
  r.field("backoff_base_ms", p.backoff_base_ms, 1, 600'000);
  r.field("backoff_max_ms", p.backoff_max_ms, 1, 3'600'000);
  r.field("timeout_ms", p.timeout_ms, 100, 600'000);
  r.field("circuit_after", p.circuit_after, 1, 100);
  r.field("circuit_cooldown_s", p.circuit_cooldown_s, 1, 86'400);
  r.finish();
}

void read_section(ConfigReader& r, FetcherConfig& f) {
  r.choice("source", f.source, {"yahoo", "binance", "csv", "synthetic"});
  r.endpoint("dataset_endpoint", f.dataset_endpoint);
  r.field("dataset_timeout_ms", f.dataset_timeout_ms, 100, 3'600'000);
  r.field("dataset_attempts", f.dataset_attempts, 1, 100);
  r.field("dataset_threads", f.dataset_threads, 0, 64);
  r.field("host_cache_dir", f.host_cache_dir);
  r.field("yahoo_base_url", f.yahoo_base_url);
  r.field("yahoo_cookie_url", f.yahoo_cookie_url);
  r.field("binance_base_url", f.binance_base_url);
  r.field("csv_dir", f.csv_dir);
  r.field("history_days", f.history_days, 1, 36'500);
  {
    // Keys are timeframes; finish() names an unknown one (and the nearest known).
    ConfigReader by_tf = r.section("history_days_by_timeframe");
    for (const auto& [timeframe, minutes] : known_timeframes()) {
      std::optional<int> days;
      auto held = f.history_days_by_timeframe.find(timeframe);
      if (held != f.history_days_by_timeframe.end()) days = held->second;
      if (by_tf.field(timeframe.c_str(), days, 1, 36'500)) {
        f.history_days_by_timeframe[timeframe] = *days;
      }
    }
    by_tf.finish();
  }
  int64_t seed = static_cast<int64_t>(f.synthetic_seed);
  r.field("synthetic_seed", seed, 0, INT64_MAX);
  f.synthetic_seed = static_cast<uint64_t>(seed);
  r.field("synthetic_signal", f.synthetic_signal, 0, 0.99);
  std::vector<std::string> held;
  for (const auto& [symbol, strength] : f.synthetic_signals) held.push_back(symbol);
  for (auto& [symbol, entry] : r.entries("synthetic_signals", held, "symbol")) {
    auto found = f.synthetic_signals.find(symbol);
    double strength = found == f.synthetic_signals.end() ? f.synthetic_signal : found->second;
    entry.field("strength", strength, 0, 0.99);
    entry.finish();
    f.synthetic_signals[symbol] = strength;
  }
  r.field("binance_weight_budget_1m", f.binance_weight_budget_1m, 1, 100'000);
  ConfigReader yahoo = r.section("yahoo");
  read_section(yahoo, f.yahoo);
  ConfigReader binance = r.section("binance");
  read_section(binance, f.binance);
  r.finish();
}

}  // namespace nightshift::config
