// The klines parser's fast path against the general (nlohmann SAX) parser it
// falls back to: whatever the fast path accepts, the SAX parser accepts with
// bit-identical values; whatever the SAX parser rejects, the fast path
// declines (so errors keep the SAX parser's messages).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "stages/fetcher/klines_parser.h"
#include "tests/unit/fetcher/binance_klines_server.h"
#include "tests/unit/fetcher/local_http_server.h"

namespace nightshift::fetcher {
namespace {

constexpr int64_t kJan1 = 1'704'067'200;
constexpr int64_t kFar = INT64_MAX;

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

bool same_bars(const Bars& a, const Bars& b) {
  return a.ts == b.ts && same_bits(a.open, b.open) && same_bits(a.high, b.high) &&
         same_bits(a.low, b.low) && same_bits(a.close, b.close) && same_bits(a.volume, b.volume);
}

// The property, for one body: returns what the fast path did.
enum class Outcome { kFast, kDeclined };
Outcome check(const std::string& body, int64_t end_ts = kFar) {
  auto fast = detail::parse_binance_klines_fast(body, end_ts);
  auto sax = detail::parse_binance_klines_sax(body, end_ts);
  auto both = parse_binance_klines(body, end_ts);
  if (fast) {
    EXPECT_TRUE(sax.ok()) << "fast path accepted what SAX rejects (" << sax.error() << "): " << body;
    if (sax.ok()) {
      EXPECT_TRUE(same_bars(*fast, *sax)) << "values differ: " << body;
    }
  }
  EXPECT_EQ(both.ok(), sax.ok()) << body;
  if (both.ok() && sax.ok()) {
    EXPECT_TRUE(same_bars(*both, *sax)) << body;
  }
  if (!both.ok() && !sax.ok()) {
    EXPECT_EQ(both.error(), sax.error()) << body;
  }
  return fast ? Outcome::kFast : Outcome::kDeclined;
}

const char* kRow =
    R"([1704067200000,"42283.58000000","42554.57000000","42261.02000000","42475.23000000","1271.68108000",1704070799999,"53957248.99882160",47134,"682.57581000","28957416.81975880","0"])";

std::string one_row(const std::string& row) { return "[" + row + "]"; }

TEST(KlinesParser, BinancePagesTakeTheFastPath) {
  EXPECT_EQ(check(testing::fixture("binance_klines_btcusdt_1h.json")), Outcome::kFast);
  EXPECT_EQ(check(testing::kline_rows(kJan1 * 1000, (kJan1 + 86400) * 1000, 60'000, 1000)),
            Outcome::kFast);
  EXPECT_EQ(check(one_row(kRow)), Outcome::kFast);
  EXPECT_EQ(check("[]"), Outcome::kFast);
  EXPECT_EQ(check(" \r\n[ \t]\n"), Outcome::kFast);
  auto page = detail::parse_binance_klines_fast(testing::fixture("binance_klines_btcusdt_1h.json"),
                                                kJan1 + 2 * 3600);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->ts, (std::vector<int64_t>{kJan1, kJan1 + 3600}));  // end_ts drops the third
}

TEST(KlinesParser, ValidVariantsAgreeWithTheGeneralParser) {
  // Each is valid JSON with a klines shape; fast or declined, the result is SAX's.
  const std::vector<std::string> bodies = {
      R"([[0,"1","2","0.5","1.5","10"]])",                       // exactly 6 fields
      R"([[1000,1,2,0.5,1.5,10,true,false,null,-3,2.5e3,"x"]])",  // bare numbers, literals
      R"([[1000,"1e2","2E+2","3e-1","-0","0.000001"]])",          // exponents, negative zero
      R"([[-1000,"1","2","0.5","1.5","10"]])",                   // negative open time
      R"([[1000,"007","2","0.5","1.5","10"]])",                  // leading zeros in a string
      R"([[1000,-0,0,2,1.5,10]])",                                // -0 as an integer
      R"([[1000,"1","2","0.5","1.5","10","caf\u00e9"]])",        // escape in a later field
      "[[1000,\"1\",\"2\",\"0.5\",\"1.5\",\"10\",\"caf\xc3\xa9\"]]",  // UTF-8 in a later field
      R"([[1000,"1.","2",".5","+1.5"," 10"]])",                  // strtod-only forms
      R"([[1000,"1e400","2","0.5","1.5","10"]])",                // overflow: inf via strtod
      R"([[1000,"1e-400","2","0.5","1.5","10"]])",               // underflow
      R"([[1000,1e400,2,0.5,1.5,10]])",
      R"([[1000,"1","2","0.5","1.5","10",1e9999]])",            // later field overflows: error
      R"([[1000,"1","2","0.5","1.5","10",1e-9999]])",           // later field underflows: 0
      "[[1000,\"1\",\"2\",\"0.5\",\"1.5\",\"10\"," + std::string(400, '7') + "]]",
      "[[1000,\"1\",\"2\",\"0.5\",\"1.5\",\"10\"," + std::string(30, '7') + "]]",
      R"([[1000,"0x10","2","0.5","1.5","10"]])",                 // hex: strtod reads it
      R"([[1000,"inf","nan","0.5","1.5","10"]])",
      R"([[123456789012345678,"1","2","0.5","1.5","10"]])",     // 18 digits
      R"([[1234567890123456789,"1","2","0.5","1.5","10"]])",    // 19 digits
      R"([[99999999999999999999,"1","2","0.5","1.5","10"]])",   // beyond uint64
      R"([[1000,123456789012345678901234,"2","0.5","1.5","10"]])",
      R"([[1000,"1","2","0.5","1.5","10",[]]])",                // nested array: error
      R"([[1000,"1","2","0.5","1.5","10",{}]])",                // object in a row: error
      "\xef\xbb\xbf[]",                                          // byte order mark
  };
  for (const auto& body : bodies) check(body);
  check(one_row(kRow), kJan1);  // filtered by end_ts
  check(one_row(kRow), kJan1 + 1);
}

TEST(KlinesParser, InvalidBodiesAreLeftToTheGeneralParser) {
  const std::vector<std::string> bodies = {
      "",
      "   ",
      "[",
      "]",
      "[[]]",
      "[,]",
      "[[1000,\"1\",\"2\",\"0.5\",\"1.5\",\"10\"],]",            // trailing comma
      "[[1000,\"1\",\"2\",\"0.5\",\"1.5\",\"10\"]]x",            // trailing garbage
      "[[1000,\"1\",\"2\",\"0.5\",\"1.5\",\"10\"] [1000]]",      // missing comma
      "[[1000,\"1\",\"2\",\"0.5\",\"1.5\"]]",                    // 5 fields
      "[[1000.0,\"1\",\"2\",\"0.5\",\"1.5\",\"10\"]]",           // float open time
      "[[\"1000\",\"1\",\"2\",\"0.5\",\"1.5\",\"10\"]]",         // string open time
      "[[1000,null,\"2\",\"0.5\",\"1.5\",\"10\"]]",              // null price
      "[[1000,\"abc\",\"2\",\"0.5\",\"1.5\",\"10\"]]",           // not a number
      "[[1000,\"\",\"2\",\"0.5\",\"1.5\",\"10\"]]",
      "[[1000,\"1\",\"2\",\"0.5\",\"1.5\",\"10\",tru]]",
      "[[1000,\"1\",\"2\",\"0.5\",\"1.5\",\"10\",01]]",          // leading zero number
      "[[1000,\"1\",\"2\",\"0.5\",\"1.5\",\"10\",1.]]",
      "[[1000,\"1\",\"2\",\"0.5\",\"1.5\",\"10\",\"a\tb\"]]",    // raw control character
      "[[1000,\"1\",\"2\",\"0.5\",\"1.5\",\"10\",\"\xff\"]]",    // invalid UTF-8
      "[[1000,\"1\",\"2\",\"0.5\",\"1.5\",\"10\",\"open",
      "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}",
      "<html><body>502 Bad Gateway</body></html>",
      "[1,2,3]",
      "[[1000,\"1\",\"2\",\"0.5\",\"1.5\",\"10\"]][]",
  };
  for (const auto& body : bodies) {
    EXPECT_EQ(check(body), Outcome::kDeclined) << body;
    EXPECT_FALSE(detail::parse_binance_klines_sax(body, kFar).ok()) << "expected invalid: " << body;
  }
}

TEST(KlinesParser, MutatedPagesNeverMakeTheFastPathDisagree) {
  // Random byte edits of real-format pages, biased to JSON-significant bytes.
  const std::string base = testing::kline_rows(kJan1 * 1000, (kJan1 + 600) * 1000, 60'000, 4);
  const std::string alphabet = "[]{},:\"\\-+.eE0123456789 \tnulltruefalse\x01\x80";
  std::mt19937_64 rng(20240101);
  int fast = 0, declined = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string body = base;
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      std::size_t at = rng() % body.size();
      char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: body[at] = c; break;
        case 1: body.insert(body.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        default: body.erase(at, 1 + rng() % 3); break;
      }
    }
    (check(body) == Outcome::kFast ? fast : declined)++;
    if (::testing::Test::HasFailure()) break;
  }
  // Both sides of the property were exercised.
  EXPECT_GT(fast, 100);
  EXPECT_GT(declined, 100);
}

}  // namespace
}  // namespace nightshift::fetcher
