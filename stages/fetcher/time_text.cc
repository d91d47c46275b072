#include "stages/fetcher/time_text.h"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace nightshift::fetcher {
namespace {

// Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's algorithm.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

Result<int64_t> parse_epoch(const std::string& text) {
  if (text.size() > 19) return make_error("'" + text + "': epoch number too long");
  int64_t value = std::stoll(text);
  if (text.size() >= 19) return value / 1'000'000'000;
  if (text.size() >= 16) return value / 1'000'000;
  if (text.size() >= 13) return value / 1'000;
  return value;
}

}  // namespace

Result<int64_t> parse_time(const std::string& text, int64_t default_offset_s) {
  if (all_digits(text)) return parse_epoch(text);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10) {
    return make_error("'" + text + "' is not a time (want epoch seconds or YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM])");
  }
  std::string rest = text.substr(10);
  if (!rest.empty() && (rest[0] == 'T' || rest[0] == ' ')) {
    int n = 0;
    if (std::sscanf(rest.c_str() + 1, "%2d:%2d%n", &h, &mi, &n) != 2) {
      return make_error("'" + text + "': bad time of day");
    }
    rest = rest.substr(1 + n);
    if (!rest.empty() && rest[0] == ':') {
      if (std::sscanf(rest.c_str() + 1, "%2d%n", &s, &n) != 1) return make_error("'" + text + "': bad seconds");
      rest = rest.substr(1 + n);
      if (!rest.empty() && rest[0] == '.') {  // fractional seconds are dropped
        std::size_t k = 1;
        while (k < rest.size() && std::isdigit(static_cast<unsigned char>(rest[k]))) ++k;
        rest = rest.substr(k);
      }
    }
  }
  int64_t offset = default_offset_s;
  if (rest == "Z" || rest == "z") {
    offset = 0;
  } else if (!rest.empty()) {
    int oh = 0, om = 0;
    if ((rest[0] != '+' && rest[0] != '-') || std::sscanf(rest.c_str() + 1, "%2d:%2d", &oh, &om) != 2) {
      return make_error("'" + text + "': bad timezone '" + rest + "'");
    }
    offset = (rest[0] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return make_error("'" + text + "': date or time out of range");
  }
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
         h * 3600 + mi * 60 + s - offset;
}

std::string format_time(int64_t ts) {
  std::time_t t = static_cast<std::time_t>(ts);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace nightshift::fetcher
