// BinanceSource against a real local HTTP server speaking the klines API.
#include "stages/fetcher/binance_source.h"

#include <gtest/gtest.h>

#include <atomic>

#include "stages/fetcher/klines_parser.h"
#include "tests/unit/fetcher/binance_klines_server.h"

namespace nightshift::fetcher {
namespace {

using testing::fixture;
using testing::LocalHttpServer;

constexpr int64_t kJan1 = 1'704'067'200;  // 2024-01-01T00:00Z

class BinanceSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.server().Get("/api/v3/klines", [this](const httplib::Request& req, httplib::Response& res) {
      handler_(req, res);
    });
    handler_ = [](const httplib::Request& req, httplib::Response& res) { testing::serve_klines(res, req); };
    config_.binance_base_url = server_.url();
    config_.binance = {1000.0, 100, 2, 10, 50, 400, 3, 60};
  }

  Result<Bars> fetch(BinanceSource& source, const std::string& tf, int64_t from, int64_t to) {
    return source.fetch({"BTCUSDT", tf, from, to}, {});
  }

  LocalHttpServer server_;
  config::FetcherConfig config_;
  std::function<void(const httplib::Request&, httplib::Response&)> handler_;
  std::vector<DataNotice> notices_;
};

TEST_F(BinanceSourceTest, RecordedRowsParseWithStringPrices) {
  auto bars = parse_binance_klines(fixture("binance_klines_btcusdt_1h.json"), kJan1 + 3 * 3600);
  ASSERT_TRUE(bars.ok()) << bars.error();
  ASSERT_EQ(bars->size(), 3u);
  EXPECT_EQ(bars->ts[1], kJan1 + 3600);
  EXPECT_DOUBLE_EQ(bars->open[0], 42283.58);
  EXPECT_DOUBLE_EQ(bars->high[1], 42775.0);
  EXPECT_DOUBLE_EQ(bars->volume[2], 685.21028);
}

TEST_F(BinanceSourceTest, PagesWithStartTimeUntilTheRangeIsCovered) {
  BinanceSource source(config_, nullptr);
  const int64_t end = kJan1 + 2500 * 60;
  auto bars = fetch(source, "1m", kJan1, end);
  ASSERT_TRUE(bars.ok()) << bars.error();
  ASSERT_EQ(bars->size(), 2500u);
  for (std::size_t i = 1; i < bars->size(); ++i) ASSERT_EQ(bars->ts[i] - bars->ts[i - 1], 60);
  auto seen = server_.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].param("startTime"), std::to_string(kJan1 * 1000));
  EXPECT_EQ(seen[1].param("startTime"), std::to_string((kJan1 + 1000 * 60) * 1000));
  EXPECT_EQ(seen[2].param("startTime"), std::to_string((kJan1 + 2000 * 60) * 1000));
  for (const auto& r : seen) EXPECT_EQ(r.param("limit"), "1000");
}

TEST_F(BinanceSourceTest, HonoursRetryAfterAndSendsNothingMeanwhile) {
  std::atomic<int> calls{0};
  handler_ = [&](const httplib::Request& req, httplib::Response& res) {
    if (++calls == 1) {
      res.status = 429;
      res.set_header("Retry-After", "2");
      res.set_content(R"({"code":-1003,"msg":"Too many requests; current limit is 1200 request weight per 1 MINUTE."})",
                      "application/json");
      return;
    }
    testing::serve_klines(res, req);
  };
  config_.binance.backoff_base_ms = 10;  // backoff alone would retry after ~10 ms
  BinanceSource source(config_, [&](const DataNotice& n) { notices_.push_back(n); });
  auto bars = fetch(source, "1h", kJan1, kJan1 + 24 * 3600);
  ASSERT_TRUE(bars.ok()) << bars.error();
  EXPECT_EQ(bars->size(), 24u);
  auto seen = server_.seen();
  ASSERT_EQ(seen.size(), 2u);  // the 429, then the retry: nothing in between
  EXPECT_GE(seen[1].at - seen[0].at, std::chrono::milliseconds(2000));
  ASSERT_FALSE(notices_.empty());
  EXPECT_EQ(notices_[0].kind, "rate_limited");
}

TEST_F(BinanceSourceTest, RepeatedRateLimitsOpenTheCircuit) {
  handler_ = [](const httplib::Request&, httplib::Response& res) {
    res.status = 429;
    res.set_header("Retry-After", "0");
    res.set_content(R"({"code":-1003,"msg":"Too many requests"})", "application/json");
  };
  config_.binance.max_retries = 5;
  config_.binance.circuit_after = 3;
  BinanceSource source(config_, [&](const DataNotice& n) { notices_.push_back(n); });
  auto bars = fetch(source, "1h", kJan1, kJan1 + 24 * 3600);
  ASSERT_FALSE(bars.ok());
  EXPECT_NE(bars.error().find("circuit opened"), std::string::npos) << bars.error();
  EXPECT_EQ(server_.seen().size(), 3u);
  auto again = fetch(source, "1h", kJan1, kJan1 + 24 * 3600);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().find("circuit is open"), std::string::npos) << again.error();
  EXPECT_EQ(server_.seen().size(), 3u);  // failed fast: nothing sent
  ASSERT_FALSE(notices_.empty());
  EXPECT_EQ(notices_.back().kind, "circuit_open");
}

TEST_F(BinanceSourceTest, TeapotBanStopsTheSource) {
  handler_ = [](const httplib::Request&, httplib::Response& res) {
    res.status = 418;
    res.set_header("Retry-After", "120");
    res.set_content(R"({"code":-1003,"msg":"Way too many requests; IP banned until 1704070800000."})",
                    "application/json");
  };
  BinanceSource source(config_, [&](const DataNotice& n) { notices_.push_back(n); });
  auto bars = fetch(source, "1h", kJan1, kJan1 + 24 * 3600);
  ASSERT_FALSE(bars.ok());
  EXPECT_NE(bars.error().find("HTTP 418"), std::string::npos) << bars.error();
  EXPECT_NE(bars.error().find("120 s"), std::string::npos) << bars.error();
  auto again = fetch(source, "1h", kJan1, kJan1 + 24 * 3600);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(server_.seen().size(), 1u);
  ASSERT_FALSE(notices_.empty());
  EXPECT_EQ(notices_.back().kind, "circuit_open");
}

TEST_F(BinanceSourceTest, ErrorsAreClear) {
  handler_ = [](const httplib::Request&, httplib::Response& res) {
    res.status = 400;
    res.set_content(fixture("binance_error_invalid_symbol.json"), "application/json");
  };
  BinanceSource source(config_, nullptr);
  auto invalid = fetch(source, "1h", kJan1, kJan1 + 3600);
  ASSERT_FALSE(invalid.ok());
  EXPECT_NE(invalid.error().find("Invalid symbol. (code -1121)"), std::string::npos) << invalid.error();

  std::string recorded = fixture("binance_klines_btcusdt_1h.json");
  handler_ = [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(recorded.substr(0, recorded.size() - 40), "application/json");
  };
  auto truncated = fetch(source, "1h", kJan1, kJan1 + 3600);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().find("not valid JSON"), std::string::npos) << truncated.error();

  handler_ = [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<html><body>502 Bad Gateway</body></html>", "text/html");
  };
  auto html = fetch(source, "1h", kJan1, kJan1 + 3600);
  ASSERT_FALSE(html.ok());
  EXPECT_NE(html.error().find("HTML"), std::string::npos) << html.error();
}

TEST_F(BinanceSourceTest, AHangingServerTimesOut) {
  handler_ = [this](const httplib::Request&, httplib::Response& res) {
    for (int i = 0; i < 40 && !server_.stopping(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    res.set_content("[]", "application/json");
  };
  config_.binance.max_retries = 1;
  BinanceSource source(config_, nullptr);
  auto bars = fetch(source, "1h", kJan1, kJan1 + 3600);
  ASSERT_FALSE(bars.ok());
  EXPECT_NE(bars.error().find("Timeout"), std::string::npos) << bars.error();
}

TEST(BinanceWeight, WaitsForTheNextMinuteOnlyWhenOverBudget) {
  EXPECT_EQ(binance_weight_wait_ms(100, 1200, 2, 10'000), 0);
  EXPECT_EQ(binance_weight_wait_ms(1198, 1200, 2, 10'000), 0);
  EXPECT_EQ(binance_weight_wait_ms(1199, 1200, 2, 10'000), 50'250);
  EXPECT_EQ(binance_weight_wait_ms(1200, 1200, 2, 59'900), 350);
}

}  // namespace
}  // namespace nightshift::fetcher
