// Fetcher stage settings: sources, politeness, market cache, dataset service.
#pragma once

#include <map>
#include <string>

namespace nightshift::config {

class ConfigReader;

struct SourcePoliteness {
  double requests_per_s = 1.0;
  int burst = 2;
  int max_retries = 5;
  int backoff_base_ms = 1000;
  int backoff_max_ms = 60'000;
  int timeout_ms = 15'000;
  int circuit_after = 3;          // consecutive rate-limit answers that open the circuit
  int circuit_cooldown_s = 300;
};

struct FetcherConfig {
  std::string source = "synthetic";  // yahoo, binance, csv, synthetic
  std::string dataset_endpoint = "ipc://var/bus/dataset";
  int dataset_timeout_ms = 60'000;  // per attempt; a cold fetch from Yahoo can be slow
  int dataset_attempts = 3;         // client attempts before giving up
  // Threads answering dataset requests (each with its own read-only
  // market.db connection); 0: one per core, at least 2.
  int dataset_threads = 0;
  // Workers keep each dataset they receive here too (empty: off), so the
  // workers of one host share it: it crosses the network once per host.
  std::string host_cache_dir;
  std::string yahoo_base_url = "https://query1.finance.yahoo.com";
  std::string yahoo_cookie_url = "https://fc.yahoo.com";
  std::string binance_base_url = "https://api.binance.com";
  std::string csv_dir = "data/csv";
  int history_days = 365;  // how far back a dataset reaches when the request names no start
  // Per-timeframe override of history_days (e.g. {1m: 30, 1d: 1825}): a year
  // of minute bars is 525,600 rows (and more than Yahoo serves), a year of
  // daily bars too few for purged 5-fold CV.
  // The defaults stay inside what Yahoo serves (1m: 30 days, 5m-30m: 60 days,
  // with a day of slack) and give purged 5-fold CV five years of daily bars.
  std::map<std::string, int> history_days_by_timeframe = {
      {"1m", 29}, {"5m", 59}, {"15m", 59}, {"1d", 1825}};
  int history_days_for(const std::string& timeframe) const {
    auto found = history_days_by_timeframe.find(timeframe);
    return found == history_days_by_timeframe.end() ? history_days : found->second;
  }
  uint64_t synthetic_seed = 42;
  double synthetic_signal = 0.0;  // strength of the planted predictable component
  std::map<std::string, double> synthetic_signals;  // per-symbol override of synthetic_signal
  int binance_weight_budget_1m = 1200;  // request weight per minute we allow ourselves
  SourcePoliteness yahoo{0.5, 2, 5, 2000, 120'000, 15'000, 3, 600};
  SourcePoliteness binance{5.0, 10, 5, 1000, 60'000, 15'000, 3, 300};
};

void read_section(ConfigReader& reader, FetcherConfig& out);

}  // namespace nightshift::config
