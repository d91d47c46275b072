// Serves /api/v3/klines like Binance: 12-field rows with string prices for
// [startTime, endTime], at most `limit` rows, from a deterministic price path.
#pragma once

#include <cstdint>
#include <string>

#include "config/config.h"
#include "tests/unit/fetcher/local_http_server.h"

namespace nightshift::fetcher::testing {

inline std::string kline_rows(int64_t start_ms, int64_t end_ms, int64_t interval_ms, int limit) {
  std::string out = "[";
  int rows = 0;
  int64_t first = (start_ms + interval_ms - 1) / interval_ms * interval_ms;
  for (int64_t t = first; t <= end_ms && rows < limit; t += interval_ms, ++rows) {
    double base = 40000.0 + static_cast<double>((t / interval_ms) % 1000);
    char row[512];
    std::snprintf(row, sizeof(row),
                  "%s[%lld,\"%.8f\",\"%.8f\",\"%.8f\",\"%.8f\",\"%.8f\",%lld,\"%.8f\",%d,\"%.8f\","
                  "\"%.8f\",\"0\"]",
                  rows ? "," : "", static_cast<long long>(t), base, base + 25.5, base - 20.25,
                  base + 3.0, 12.5 + rows % 7, static_cast<long long>(t + interval_ms - 1),
                  base * 12.5, 1000 + rows, 6.25, base * 6.25);
    out += row;
  }
  return out + "]";
}

inline void serve_klines(httplib::Response& res, const httplib::Request& req) {
  int64_t interval_ms = config::timeframe_minutes(req.get_param_value("interval")) * 60'000LL;
  int64_t start = std::stoll(req.get_param_value("startTime"));
  int64_t end = req.has_param("endTime") ? std::stoll(req.get_param_value("endTime")) : start + 1000 * interval_ms;
  int limit = req.has_param("limit") ? std::stoi(req.get_param_value("limit")) : 500;
  res.set_header("X-MBX-USED-WEIGHT-1M", "2");
  res.set_content(kline_rows(start, end, interval_ms, limit), "application/json");
}

}  // namespace nightshift::fetcher::testing
