// Binance spot klines source: GET {base}/api/v3/klines?symbol=&interval=
// &startTime=&endTime=&limit=1000, paged by startTime until the range is
// covered. Each page is parsed by parse_binance_klines (klines_parser.h).
//
// Politeness beyond PoliteClient: every answer carries
// X-MBX-USED-WEIGHT-1M; when the next request would take us over our own
// budget (binance_weight_budget_1m, below Binance's limit) we wait for the
// next minute window instead of sending it.
#pragma once

#include <cstdint>
#include <string>

#include "config/fetcher_config.h"
#include "stages/fetcher/polite_client.h"
#include "stages/fetcher/source.h"

namespace nightshift::fetcher {

// How long to wait before a request of `weight` when `used` of `budget` is
// spent in the minute window containing `now_ms` (0: send now).
int64_t binance_weight_wait_ms(int64_t used, int64_t budget, int64_t weight, int64_t now_ms);

class BinanceSource : public BarSource {
 public:
  static constexpr int kPageLimit = 1000;
  static constexpr int kRequestWeight = 2;  // weight of one klines request (limit 1000)

  BinanceSource(const config::FetcherConfig& config, NoticeSink notices);
  std::string name() const override { return "binance"; }
  Result<Bars> fetch(const FetchRange& range, const ProgressSink& progress) override;
  // Hands over each 1000-row page as soon as it is parsed.
  Status fetch_pages(const FetchRange& range, const ProgressSink& progress,
                     const PageSink& sink) override;
  uint64_t requests_sent() const override { return http_.requests_sent(); }

 private:
  Result<Bars> fetch_page(const FetchRange& range, int64_t start_ms, int64_t interval_s);
  Status respect_weight_budget();

  std::string base_url_;
  int64_t weight_budget_;
  PoliteClient http_;
  NoticeSink notices_;
  int64_t used_weight_ = 0;
};

}  // namespace nightshift::fetcher
