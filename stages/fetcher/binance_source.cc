#include "stages/fetcher/binance_source.h"

#include <nlohmann/json.hpp>

#include <chrono>

#include "config/config.h"
#include "stages/common/process.h"

#include <thread>

namespace nightshift::fetcher {
namespace {

using nlohmann::json;

Result<double> number_field(const json& row, std::size_t i) {
  const json& v = row[i];
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return make_error("field " + std::to_string(i) + " is not a number");
  const std::string& s = v.get_ref<const std::string&>();
  char* end = nullptr;
  double value = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0') return make_error("field " + std::to_string(i) + " '" + s + "' is not a number");
  return value;
}

std::string binance_error(const HttpResponse& r) {
  json doc = json::parse(r.body, nullptr, false);
  std::string detail = r.body.substr(0, 120);
  if (doc.is_object() && doc.contains("msg")) {
    detail = doc.value("msg", std::string()) + " (code " + std::to_string(doc.value("code", 0)) + ")";
  }
  return "binance: HTTP " + std::to_string(r.status) + ": " + detail;
}

}  // namespace

Result<Bars> parse_binance_klines(const std::string& body, int64_t end_ts) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) {
    auto first = body.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && body[first] == '<') return make_error("binance: got an HTML page instead of JSON");
    return make_error("binance: response is not valid JSON (truncated?)");
  }
  if (!doc.is_array()) return make_error("binance: klines response is not an array");
  Bars bars;
  bars.ts.reserve(doc.size());
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const json& row = doc[i];
    if (!row.is_array() || row.size() < 6 || !row[0].is_number_integer()) {
      return make_error("binance: kline row " + std::to_string(i) + " is not a 12-field array");
    }
    int64_t ts = row[0].get<int64_t>() / 1000;
    if (ts >= end_ts) continue;
    double v[5];
    for (std::size_t k = 1; k <= 5; ++k) {
      auto x = number_field(row, k);
      if (!x) return make_error("binance: kline row " + std::to_string(i) + ": " + x.error());
      v[k - 1] = *x;
    }
    bars.ts.push_back(ts);
    bars.open.push_back(v[0]);
    bars.high.push_back(v[1]);
    bars.low.push_back(v[2]);
    bars.close.push_back(v[3]);
    bars.volume.push_back(v[4]);
  }
  return bars;
}

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
  if (Status s = respect_weight_budget(); !s) return Error{s.error()};
  std::string url = base_url_ + "/api/v3/klines?symbol=" + HttpClient::escape(range.symbol) +
                    "&interval=" + range.timeframe + "&startTime=" + std::to_string(start_ms) +
                    "&endTime=" + std::to_string(range.end_ts * 1000 - 1) +
                    "&limit=" + std::to_string(kPageLimit);
  auto response = http_.get(url);
  if (!response) return Error{response.error()};
  if (std::string used = response->header("x-mbx-used-weight-1m"); !used.empty()) {
    used_weight_ = std::atoll(used.c_str());
  }
  if (response->status != 200) return make_error(binance_error(*response));
  return parse_binance_klines(response->body, range.end_ts);
}

Result<Bars> BinanceSource::fetch(const FetchRange& range, const ProgressSink& progress) {
  const int64_t interval_s = static_cast<int64_t>(config::timeframe_minutes(range.timeframe)) * 60;
  if (interval_s <= 0) return make_error("binance: unknown timeframe '" + range.timeframe + "'");
  Bars all;
  int64_t start_ms = range.start_ts * 1000;
  while (start_ms < range.end_ts * 1000) {
    auto page = fetch_page(range, start_ms, interval_s);
    if (!page) return page;  // all or nothing
    for (std::size_t i = 0; i < page->size(); ++i) {
      all.ts.push_back(page->ts[i]);
      all.open.push_back(page->open[i]);
      all.high.push_back(page->high[i]);
      all.low.push_back(page->low[i]);
      all.close.push_back(page->close[i]);
      all.volume.push_back(page->volume[i]);
    }
    if (page->size() == 0) break;
    start_ms = (page->ts.back() + interval_s) * 1000;
    if (progress) {
      progress(std::min(1.0, static_cast<double>(start_ms / 1000 - range.start_ts) /
                                 static_cast<double>(range.end_ts - range.start_ts)));
    }
    if (page->size() < static_cast<std::size_t>(kPageLimit)) break;  // the server has no more
  }
  return all;
}

}  // namespace nightshift::fetcher
