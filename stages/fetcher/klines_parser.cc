#include "stages/fetcher/klines_parser.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <optional>

namespace nightshift::fetcher {
namespace {

using nlohmann::json;

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
    bars.push_back({ts, values_[0], values_[1], values_[2], values_[3], values_[4]});
    return true;
  }

  int64_t end_ts_;
  int depth_ = 0;
  int field_ = 0;
  std::size_t row_ = 0;
  int64_t open_ms_ = 0;
  double values_[5] = {0, 0, 0, 0, 0};
};


// ---- fast path -------------------------------------------------------------
// Accepts exactly: ws [ ws ( ] | row (ws , ws row)* ws ] ) ws EOF, where a row
// is [ field (ws , ws field)* ] with at least 6 fields: field 0 a JSON integer
// (at most 18 digits), fields 1-5 a decimal string or a JSON number, later
// fields a string without escapes/control/non-ASCII bytes, a JSON number or a
// literal. Whatever it accepts, the SAX parser accepts with the same values
// (both round correctly: from_chars here, strtod there); it declines
// everything else, including every input the SAX parser rejects.

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class FastKlines {
 public:
  FastKlines(std::string_view body, int64_t end_ts)
      : p_(body.data()), e_(body.data() + body.size()), end_ts_(end_ts) {}

  bool parse(Bars& out) {
    skip_ws();
    if (!eat('[')) return false;
    skip_ws();
    if (!eat(']')) {
      while (true) {
        if (!row(out)) return false;
        skip_ws();
        if (eat(']')) break;
        if (!eat(',')) return false;
        skip_ws();
      }
    }
    skip_ws();
    return p_ == e_;
  }

 private:
  void skip_ws() {
    while (p_ < e_ && is_ws(*p_)) ++p_;
  }
  bool eat(char c) {
    if (p_ < e_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }

  // A strict JSON number at p_; advances past it. `integral`: no fraction or
  // exponent; `digits`: digits of the integer part.
  bool number(const char*& begin, bool& integral, int& digits) {
    begin = p_;
    const char* p = p_;
    if (p < e_ && *p == '-') ++p;
    const char* first = p;
    if (p < e_ && *p == '0') {
      ++p;
    } else if (p < e_ && *p >= '1' && *p <= '9') {
      while (p < e_ && is_digit(*p)) ++p;
    } else {
      return false;
    }
    digits = static_cast<int>(p - first);
    integral = true;
    if (p < e_ && *p == '.') {
      ++p;
      if (p == e_ || !is_digit(*p)) return false;
      while (p < e_ && is_digit(*p)) ++p;
      integral = false;
    }
    if (p < e_ && (*p == 'e' || *p == 'E')) {
      ++p;
      if (p < e_ && (*p == '+' || *p == '-')) ++p;
      if (p == e_ || !is_digit(*p)) return false;
      while (p < e_ && is_digit(*p)) ++p;
      integral = false;
    }
    p_ = p;
    return true;
  }

  static int64_t small_int(const char* begin, const char* end) {
    bool negative = *begin == '-';
    int64_t v = 0;
    for (const char* q = begin + (negative ? 1 : 0); q < end; ++q) v = v * 10 + (*q - '0');
    return negative ? -v : v;
  }

  static bool to_double(const char* begin, const char* end, double& out) {
    auto [ptr, ec] = std::from_chars(begin, end, out);
    return ec == std::errc() && ptr == end;
  }

  // A price/volume field: "decimal" (what strtod reads whole) or a number.
  bool decimal_field(double& out) {
    if (p_ < e_ && *p_ == '"') {
      const char* begin = ++p_;
      const char* p = begin;
      if (p < e_ && *p == '-') ++p;
      if (p == e_ || !is_digit(*p)) return false;
      while (p < e_ && is_digit(*p)) ++p;
      if (p < e_ && *p == '.') {
        ++p;
        if (p == e_ || !is_digit(*p)) return false;
        while (p < e_ && is_digit(*p)) ++p;
      }
      if (p < e_ && (*p == 'e' || *p == 'E')) {
        ++p;
        if (p < e_ && (*p == '+' || *p == '-')) ++p;
        if (p == e_ || !is_digit(*p)) return false;
        while (p < e_ && is_digit(*p)) ++p;
      }
      if (p == e_ || *p != '"') return false;
      if (!to_double(begin, p, out)) return false;
      p_ = p + 1;
      return true;
    }
    const char* begin = nullptr;
    bool integral = false;
    int digits = 0;
    if (!number(begin, integral, digits)) return false;
    if (integral) {
      if (digits > 18) return false;
      out = static_cast<double>(small_int(begin, p_));  // as the SAX parser: int, then double
      return true;
    }
    return to_double(begin, p_, out);
  }

  // Any other field: a plain string, a number or a literal.
  bool other_field() {
    if (p_ == e_) return false;
    char c = *p_;
    if (c == '"') {
      for (const char* p = p_ + 1; p < e_; ++p) {
        auto u = static_cast<unsigned char>(*p);
        if (u == '"') {
          p_ = p + 1;
          return true;
        }
        if (u < 0x20 || u >= 0x80 || u == '\\') return false;
      }
      return false;
    }
    if (c == '-' || is_digit(c)) {
      const char* begin = nullptr;
      bool integral = false;
      int digits = 0;
      if (!number(begin, integral, digits)) return false;
      if (integral && digits <= 18) return true;
      // nlohmann reads it as a double and rejects one that overflows.
      double ignored = 0;
      return to_double(begin, p_, ignored);
    }
    for (std::string_view word : {std::string_view("true"), std::string_view("false"),
                                  std::string_view("null")}) {
      if (static_cast<std::size_t>(e_ - p_) >= word.size() &&
          std::string_view(p_, word.size()) == word) {
        p_ += word.size();
        return true;
      }
    }
    return false;
  }

  bool row(Bars& out) {
    if (!eat('[')) return false;
    skip_ws();
    const char* begin = nullptr;
    bool integral = false;
    int digits = 0;
    if (!number(begin, integral, digits) || !integral || digits > 18) return false;
    const int64_t open_ms = small_int(begin, p_);
    double v[5];
    int fields = 1;
    for (; fields < 6; ++fields) {
      skip_ws();
      if (!eat(',')) return false;
      skip_ws();
      if (!decimal_field(v[fields - 1])) return false;
    }
    while (true) {
      skip_ws();
      if (eat(']')) break;
      if (!eat(',')) return false;
      skip_ws();
      if (!other_field()) return false;
    }
    const int64_t ts = open_ms / 1000;
    if (ts >= end_ts_) return true;
    out.push_back({ts, v[0], v[1], v[2], v[3], v[4]});
    return true;
  }

  const char* p_;
  const char* e_;
  int64_t end_ts_;
};

void reserve_rows(Bars& bars, std::size_t body_bytes) {
  // A Binance row is ~170 bytes; a 1000-row page needs one allocation per column.
  bars.reserve(std::min<std::size_t>(body_bytes / 96 + 1, 1 << 16));
}

}  // namespace

namespace detail {

std::optional<Bars> parse_binance_klines_fast(std::string_view body, int64_t end_ts) {
  Bars bars;
  reserve_rows(bars, body.size());
  FastKlines scanner(body, end_ts);
  if (!scanner.parse(bars)) return std::nullopt;
  return bars;
}

Result<Bars> parse_binance_klines_sax(const std::string& body, int64_t end_ts) {
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

}  // namespace detail

Result<Bars> parse_binance_klines(const std::string& body, int64_t end_ts) {
  if (auto bars = detail::parse_binance_klines_fast(body, end_ts)) return std::move(*bars);
  return detail::parse_binance_klines_sax(body, end_ts);
}

}  // namespace nightshift::fetcher
