#include "stages/fetcher/binance_source.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <thread>

#include "config/config.h"
#include "base/process.h"
#include "stages/fetcher/klines_parser.h"

namespace nightshift::fetcher {
namespace {

using nlohmann::json;

std::string binance_error(const HttpResponse& r) {
  json doc = json::parse(r.body, nullptr, false);
  std::string detail = r.body.substr(0, 120);
  if (doc.is_object() && doc.contains("msg")) {
    detail = doc.value("msg", std::string()) + " (code " + std::to_string(doc.value("code", 0)) + ")";
  }
  return "binance: HTTP " + std::to_string(r.status) + ": " + detail;
}

}  // namespace

int64_t binance_weight_wait_ms(int64_t used, int64_t budget, int64_t weight, int64_t now_ms) {
  if (used + weight <= budget) return 0;
  return 60'000 - (now_ms % 60'000) + 250;  // just past the start of the next window
}

BinanceSource::BinanceSource(const config::FetcherConfig& config, NoticeSink notices)
    : base_url_(config.binance_base_url),
      weight_budget_(config.binance_weight_budget_1m),
      http_("binance", config.binance, notices),
      notices_(std::move(notices)) {}

Status BinanceSource::respect_weight_budget() {
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  int64_t wait = binance_weight_wait_ms(used_weight_, weight_budget_, kRequestWeight, now_ms);
  if (wait == 0) return Status::success();
  if (notices_) {
    notices_(DataNotice{"rate_limited", "binance", "", "", 0,
                        "used weight " + std::to_string(used_weight_) + " of budget " +
                            std::to_string(weight_budget_) + "; waiting " + std::to_string(wait) +
                            " ms for the next minute"});
  }
  int64_t until = monotonic_ms() + wait;
  while (monotonic_ms() < until) {
    if (stop_requested()) return make_error("binance: stopped while waiting for weight");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  used_weight_ = 0;
  return Status::success();
}

Result<Bars> BinanceSource::fetch_page(const FetchRange& range, int64_t start_ms, int64_t) {
  if (Status s = respect_weight_budget(); !s) return s.take_error();
  std::string url = base_url_ + "/api/v3/klines?symbol=" + HttpClient::escape(range.symbol) +
                    "&interval=" + range.timeframe + "&startTime=" + std::to_string(start_ms) +
                    "&endTime=" + std::to_string(range.end_ts * 1000 - 1) +
                    "&limit=" + std::to_string(kPageLimit);
  auto response = http_.get(url);
  if (!response) return response.take_error();
  if (std::string used = response->header("x-mbx-used-weight-1m"); !used.empty()) {
    used_weight_ = std::atoll(used.c_str());
  }
  if (response->status != 200) return make_error(binance_error(*response));
  return parse_binance_klines(response->body, range.end_ts);
}

Status BinanceSource::fetch_pages(const FetchRange& range, const ProgressSink& progress,
                                  const PageSink& sink) {
  const int64_t interval_s = static_cast<int64_t>(config::timeframe_minutes(range.timeframe)) * 60;
  if (interval_s <= 0) return make_error("binance: unknown timeframe '" + range.timeframe + "'");
  int64_t start_ms = range.start_ts * 1000;
  while (start_ms < range.end_ts * 1000) {
    auto page = fetch_page(range, start_ms, interval_s);
    if (!page) return page.take_error();  // all or nothing: the caller drops what it has
    const std::size_t rows = page->size();
    if (rows == 0) break;
    start_ms = (page->ts.back() + interval_s) * 1000;
    if (Status s = sink(std::move(*page)); !s) return s;
    if (progress) {
      progress(std::min(1.0, static_cast<double>(start_ms / 1000 - range.start_ts) /
                                 static_cast<double>(range.end_ts - range.start_ts)));
    }
    if (rows < static_cast<std::size_t>(kPageLimit)) break;  // the server has no more
  }
  return Status::success();
}

Result<Bars> BinanceSource::fetch(const FetchRange& range, const ProgressSink& progress) {
  Bars all;
  Status s = fetch_pages(range, progress, [&all](Bars&& page) {
    if (all.size() == 0) {
      all = std::move(page);
    } else {
      all.append(page);
    }
    return Status::success();
  });
  if (!s) return s.take_error();
  return all;
}

}  // namespace nightshift::fetcher
