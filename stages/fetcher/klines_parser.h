// Parser of a Binance klines body (GET /api/v3/klines): a JSON array of
// 12-field rows [open time ms, open, high, low, close, volume, ...] whose
// prices are decimal strings. BinanceSource fetches; this turns a page into
// bars.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "schema/data_messages.h"
#include "schema/result.h"

namespace nightshift::fetcher {

// Parses a klines body; `end_ts` drops rows that open at or after it.
// A single-pass scanner handles the shape Binance sends (rows of an integer
// open time, decimal strings or numbers, plain strings, literals); anything
// else -- escapes, non-ASCII, odd numbers, errors -- goes to the general
// nlohmann SAX parser, so results and error messages are the SAX parser's.
Result<Bars> parse_binance_klines(const std::string& body, int64_t end_ts);

namespace detail {
// The two halves of parse_binance_klines, exposed for tests: the fast path
// (nullopt where it declines the body) and the general parser.
std::optional<Bars> parse_binance_klines_fast(std::string_view body, int64_t end_ts);
Result<Bars> parse_binance_klines_sax(const std::string& body, int64_t end_ts);
}  // namespace detail

}  // namespace nightshift::fetcher
