#include "stages/fetcher/binance_source.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>

#include "config/config.h"
#include "stages/common/process.h"

#include <thread>

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

// Streams the klines array straight into columns (no DOM): a page is 1000
// rows x 12 fields, and building a json value per field would cost more than
// storing the bars.
class KlinesReader : public nlohmann::json_sax<json> {
 public:
  explicit KlinesReader(int64_t end_ts) : end_ts_(end_ts) {}

  bool null() override { return field_value(std::nullopt); }
  bool boolean(bool) override { return field_value(std::nullopt); }
  bool number_integer(number_integer_t v) override { return field_int(v); }
  bool number_unsigned(number_unsigned_t v) override { return field_int(static_cast<int64_t>(v)); }
  bool number_float(number_float_t v, const string_t&) override { return field_value(v); }
  bool string(string_t& text) override {
    if (depth_ != 2 || field_ < 1 || field_ > 5) return field_value(std::nullopt);
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0') {
      return fail("field " + std::to_string(field_) + " '" + text + "' is not a number");
    }
    return field_value(v);
  }
  bool binary(binary_t&) override { return fail("unexpected binary value"); }
  bool start_object(std::size_t) override {
    return fail(depth_ == 0 ? "klines response is not an array" : "a row is not an array");
  }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override {
    if (++depth_ > 2) return fail("nested array inside a row");
    if (depth_ == 2) field_ = 0;
    return true;
  }
  bool end_array() override {
    if (depth_-- == 2) return end_row();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    parse_failed_ = true;
    return false;
  }

  Bars bars;
  std::string error;
  bool parse_failed_ = false;

 private:
  bool fail(std::string what) {
    if (error.empty()) error = "kline row " + std::to_string(row_) + ": " + std::move(what);
    return false;
  }
  bool field_int(int64_t v) {
    if (depth_ == 2 && field_ == 0) {
      open_ms_ = v;
      ++field_;
      return true;
    }
    return field_value(static_cast<double>(v));
  }
  bool field_value(std::optional<double> v) {
    if (depth_ == 1) return fail("row is not an array");
    if (depth_ == 2 && field_ == 0) return fail("open time is not an integer");
    if (depth_ == 2 && field_ >= 1 && field_ <= 5) {
      if (!v) return fail("field " + std::to_string(field_) + " is not a number");
      values_[field_ - 1] = *v;
    }
    ++field_;
    return true;
  }
  bool end_row() {
    if (field_ < 6) return fail("has " + std::to_string(field_) + " fields, expected 12");
    ++row_;
    int64_t ts = open_ms_ / 1000;
    if (ts >= end_ts_) return true;
    bars.ts.push_back(ts);
    bars.open.push_back(values_[0]);
    bars.high.push_back(values_[1]);
    bars.low.push_back(values_[2]);
    bars.close.push_back(values_[3]);
    bars.volume.push_back(values_[4]);
    return true;
  }

  int64_t end_ts_;
  int depth_ = 0;
  int field_ = 0;
  std::size_t row_ = 0;
  int64_t open_ms_ = 0;
  double values_[5] = {0, 0, 0, 0, 0};
};

}  // namespace

Result<Bars> parse_binance_klines(const std::string& body, int64_t end_ts) {
  KlinesReader reader(end_ts);
  bool ok = json::sax_parse(body, &reader);
  if (!ok && reader.parse_failed_) {
    auto first = body.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && body[first] == '<') return make_error("binance: got an HTML page instead of JSON");
    return make_error("binance: response is not valid JSON (truncated?)");
  }
  if (!ok) return make_error("binance: " + reader.error);
  if (body.find_first_not_of(" \t\r\n") == std::string::npos || body[body.find_first_not_of(" \t\r\n")] != '[') {
    return make_error("binance: klines response is not an array");
  }
  return std::move(reader.bars);
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
