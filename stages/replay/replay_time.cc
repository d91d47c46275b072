#include "stages/replay/replay_time.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <ctime>
#include <string>

namespace nightshift::replay {
namespace {

Result<int64_t> absolute_time(std::string_view text) {
  std::tm tm{};
  std::string s(text);
  if (!s.empty() && (s.back() == 'Z' || s.back() == 'z')) s.pop_back();
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return make_error("");
  double fraction = 0;
  if (*rest == '.') {
    std::string digits = std::string("0") + rest;
    char* end = nullptr;
    fraction = std::strtod(digits.c_str(), &end);
    if (end == nullptr || *end != '\0') return make_error("");
  } else if (*rest != '\0') {
    return make_error("");
  }
  int64_t seconds = static_cast<int64_t>(timegm(&tm));
  return seconds * 1'000'000'000 + static_cast<int64_t>(std::llround(fraction * 1e9));
}

}  // namespace

Result<int64_t> resolve_time(std::string_view text, int64_t first_ts_ns) {
  auto bad = [&] {
    return make_error(ErrorKind::invalid_input,
                      "'" + std::string(text) +
                          "' is not a time: write an offset from the run's first event "
                          "(90, 90s, 1.5m, 2h, 250ms) or a UTC time (2026-12-03T15:04:05Z)");
  };
  if (text.find('T') != std::string_view::npos) {
    auto t = absolute_time(text);
    if (!t) return bad();
    return t;
  }
  std::string_view number = text;
  if (!number.empty() && number.front() == '+') number.remove_prefix(1);
  double scale = 1e9;
  for (auto [suffix, factor] : {std::pair{"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}}) {
    std::string_view sv(suffix);
    if (number.size() > sv.size() && number.substr(number.size() - sv.size()) == sv) {
      number.remove_suffix(sv.size());
      scale = factor;
      break;
    }
  }
  std::string digits(number);
  char* end = nullptr;
  double value = digits.empty() ? NAN : std::strtod(digits.c_str(), &end);
  if (digits.empty() || end == nullptr || *end != '\0' || !std::isfinite(value) || value < 0 ||
      value * scale > 9e18) {
    return bad();
  }
  return first_ts_ns + static_cast<int64_t>(std::llround(value * scale));
}

std::string format_offset(int64_t offset_ns) {
  bool negative = offset_ns < 0;
  double s = std::abs(static_cast<double>(offset_ns)) / 1e9;
  int64_t whole = static_cast<int64_t>(s);
  return fmt::format("{}{}:{:02}:{:04.1f}", negative ? "-" : "+", whole / 3600, (whole / 60) % 60,
                     s - static_cast<double>(whole - whole % 60));
}

}  // namespace nightshift::replay
