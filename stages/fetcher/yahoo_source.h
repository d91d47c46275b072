// Yahoo Finance chart API v8 source.
//
// GET {base}/v8/finance/chart/{symbol}?interval=&period1=&period2=&crumb=
// Yahoo only serves intraday history this far back, and only this much per
// request, so ranges are split and impossible ranges refused up front:
//   1m: last 30 days, 8 days per request; 5m/15m/30m: last 60 days;
//   1h: last 730 days; 1d/1w: no limit. 4h is not a Yahoo interval.
//
// Session: a cookie from the consent/landing endpoint (yahoo_cookie_url),
// then a crumb from {base}/v1/test/getcrumb, sent with every chart request.
// A 401 "Invalid Crumb"/"Invalid Cookie" re-mints both once and retries; a
// getcrumb answering 429 or "Too Many Requests" means we are rate-limited.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "config/fetcher_config.h"
#include "stages/fetcher/polite_client.h"
#include "stages/fetcher/source.h"

namespace nightshift::fetcher {

// Parses a chart response body. Bars at or after `period2_ts` (Yahoo's
// trailing live bar) are dropped; null entries are skipped bars. A
// chart.error object, HTML, or broken JSON is an error naming the problem.
Result<Bars> parse_yahoo_chart(const std::string& body, int64_t period2_ts);

struct YahooLimits {
  std::string interval;   // Yahoo's name, e.g. "60m"
  int64_t lookback_s = 0;  // 0: unlimited
  int64_t max_span_s = 0;  // per request; 0: unlimited
};
// Limits for one of our timeframes, or an error for one Yahoo does not serve.
Result<YahooLimits> yahoo_limits(const std::string& timeframe);

class YahooSource : public BarSource {
 public:
  using Clock = std::function<int64_t()>;  // seconds since epoch

  YahooSource(const config::FetcherConfig& config, NoticeSink notices, Clock clock = {});
  std::string name() const override { return "yahoo"; }
  Result<Bars> fetch(const FetchRange& range, const ProgressSink& progress) override;
  uint64_t requests_sent() const override { return http_.requests_sent(); }

 private:
  Status mint_crumb();
  Result<Bars> fetch_span(const std::string& symbol, const std::string& interval, int64_t from,
                          int64_t to);

  std::string base_url_;
  std::string cookie_url_;
  PoliteClient http_;
  Clock clock_;
  std::optional<std::string> crumb_;
};

}  // namespace nightshift::fetcher
