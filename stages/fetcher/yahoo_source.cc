#include "stages/fetcher/yahoo_source.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>

#include "stages/fetcher/time_text.h"

namespace nightshift::fetcher {
namespace {

using nlohmann::json;

constexpr int64_t kDay = 86400;

bool looks_like_html(const std::string& body) {
  auto first = body.find_first_not_of(" \t\r\n");
  return first != std::string::npos && body[first] == '<';
}

// Reads quote[name][i]: null (or absent) -> nullopt.
std::optional<double> number_at(const json& quote, const char* name, std::size_t i) {
  auto it = quote.find(name);
  if (it == quote.end() || !it->is_array() || i >= it->size()) return std::nullopt;
  const json& v = (*it)[i];
  if (!v.is_number()) return std::nullopt;
  return v.get<double>();
}

Result<Bars> bars_from_result(const json& result, int64_t period2_ts) {
  Bars bars;
  auto ts = result.find("timestamp");
  if (ts == result.end() || ts->is_null()) return bars;  // no trading in range
  if (!ts->is_array()) return make_error("yahoo: chart.result[0].timestamp is not an array");
  const json* quote = nullptr;
  if (auto ind = result.find("indicators"); ind != result.end() && ind->contains("quote") &&
                                            (*ind)["quote"].is_array() && !(*ind)["quote"].empty()) {
    quote = &(*ind)["quote"][0];
  }
  if (quote == nullptr || !quote->is_object()) {
    return make_error("yahoo: chart.result[0].indicators.quote[0] missing");
  }
  for (std::size_t i = 0; i < ts->size(); ++i) {
    if (!(*ts)[i].is_number_integer()) continue;
    int64_t t = (*ts)[i].get<int64_t>();
    if (t >= period2_ts) continue;  // the live, unfinished bar
    auto o = number_at(*quote, "open", i), h = number_at(*quote, "high", i);
    auto l = number_at(*quote, "low", i), c = number_at(*quote, "close", i);
    if (!o || !h || !l || !c) continue;  // null entries: Yahoo's way of saying "no bar"
    bars.push_back({t, *o, *h, *l, *c, number_at(*quote, "volume", i).value_or(0.0)});
  }
  return bars;
}

}  // namespace

Result<Bars> parse_yahoo_chart(const std::string& body, int64_t period2_ts) {
  if (looks_like_html(body)) return make_error("yahoo: got an HTML page instead of JSON (consent or error page)");
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return make_error("yahoo: response is not valid JSON (truncated?)");
  if (!doc.is_object() || !doc.contains("chart") || !doc["chart"].is_object()) {
    return make_error("yahoo: response has no 'chart' object");
  }
  const json& chart = doc["chart"];
  if (auto err = chart.find("error"); err != chart.end() && err->is_object()) {
    return make_error("yahoo: " + err->value("code", std::string("error")) + ": " +
                      err->value("description", std::string("(no description)")));
  }
  auto result = chart.find("result");
  if (result == chart.end() || !result->is_array() || result->empty() || !(*result)[0].is_object()) {
    return make_error("yahoo: chart.result is empty");
  }
  return bars_from_result((*result)[0], period2_ts);
}

Result<YahooLimits> yahoo_limits(const std::string& tf) {
  if (tf == "1m") return YahooLimits{"1m", 30 * kDay, 8 * kDay};
  if (tf == "5m" || tf == "15m" || tf == "30m") return YahooLimits{tf, 60 * kDay, 60 * kDay};
  if (tf == "1h") return YahooLimits{"60m", 730 * kDay, 730 * kDay};
  if (tf == "1d") return YahooLimits{"1d", 0, 0};
  if (tf == "1w") return YahooLimits{"1wk", 0, 0};
  return make_error("yahoo has no '" + tf + "' interval (it serves 1m 5m 15m 30m 1h 1d 1w)");
}

YahooSource::YahooSource(const config::FetcherConfig& config, NoticeSink notices, Clock clock)
    : base_url_(config.yahoo_base_url),
      cookie_url_(config.yahoo_cookie_url),
      http_("yahoo", config.yahoo, std::move(notices), /*keep_cookies=*/true),
      clock_(clock ? std::move(clock) : [] {
        return std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
      }) {}

Status YahooSource::mint_crumb() {
  crumb_.reset();
  // The landing endpoint answers 404 or a redirect, but sets the session cookie.
  auto landing = http_.get(cookie_url_);
  if (!landing) return landing.take_error();
  auto too_many = [](const HttpResponse& r) {
    return r.body.find("Too Many Requests") != std::string::npos;
  };
  auto crumb = http_.get(base_url_ + "/v1/test/getcrumb", too_many);
  if (!crumb) return make_error("yahoo: cannot get a crumb: " + crumb.error());
  if (crumb->status != 200 || crumb->body.empty() || looks_like_html(crumb->body) ||
      crumb->body.size() > 64) {
    return make_error("yahoo: getcrumb answered HTTP " + std::to_string(crumb->status) +
                      " without a crumb");
  }
  crumb_ = crumb->body;
  return Status::success();
}

Result<Bars> YahooSource::fetch_span(const std::string& symbol, const std::string& interval,
                                     int64_t from, int64_t to) {
  for (int minted = 0;; ++minted) {
    if (!crumb_) {
      if (Status s = mint_crumb(); !s) return s.take_error();
    }
    std::string url = base_url_ + "/v8/finance/chart/" + HttpClient::escape(symbol) +
                      "?interval=" + interval + "&period1=" + std::to_string(from) +
                      "&period2=" + std::to_string(to) + "&includePrePost=false&events=div%7Csplit" +
                      "&crumb=" + HttpClient::escape(*crumb_);
    auto response = http_.get(url);
    if (!response) return response.take_error();
    bool bad_session = response->status == 401 &&
                       (response->body.find("Invalid Crumb") != std::string::npos ||
                        response->body.find("Invalid Cookie") != std::string::npos);
    if (bad_session && minted == 0) {
      crumb_.reset();  // re-mint cookie and crumb once, then retry
      continue;
    }
    if (response->status != 200 && response->status != 404 && response->status != 422) {
      auto parsed = parse_yahoo_chart(response->body, to);
      std::string detail = parsed ? "" : " (" + parsed.error() + ")";
      return make_error("yahoo: HTTP " + std::to_string(response->status) + " for " + symbol + detail);
    }
    auto bars = parse_yahoo_chart(response->body, to);
    if (!bars) return make_error(bars.error() + " [" + symbol + " " + interval + "]");
    return bars;
  }
}

Result<Bars> YahooSource::fetch(const FetchRange& range, const ProgressSink& progress) {
  auto limits = yahoo_limits(range.timeframe);
  if (!limits) return limits.take_error();
  if (limits->lookback_s > 0 && range.start_ts < clock_() - limits->lookback_s) {
    return make_error("yahoo serves " + range.timeframe + " bars only for the last " +
                      std::to_string(limits->lookback_s / kDay) + " days; the requested start " +
                      format_time(range.start_ts) + " is older. Use a larger timeframe or a later start");
  }
  const int64_t span = limits->max_span_s > 0 ? limits->max_span_s : range.end_ts - range.start_ts;
  Bars all;
  for (int64_t from = range.start_ts; from < range.end_ts; from += span) {
    int64_t to = std::min(range.end_ts, from + span);
    auto part = fetch_span(range.symbol, limits->interval, from, to);
    if (!part) return part;  // all or nothing
    for (std::size_t i = 0; i < part->size(); ++i) {
      if (part->ts[i] >= from) all.push_back(part->row(i));
    }
    if (progress) progress(static_cast<double>(to - range.start_ts) / (range.end_ts - range.start_ts));
  }
  return all;
}

}  // namespace nightshift::fetcher
