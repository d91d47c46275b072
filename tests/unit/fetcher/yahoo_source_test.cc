// YahooSource against a real local HTTP server serving recorded-format
// chart API responses.
#include "stages/fetcher/yahoo_source.h"

#include <gtest/gtest.h>

#include "tests/unit/fetcher/local_http_server.h"

namespace nightshift::fetcher {
namespace {

using testing::fixture;
using testing::LocalHttpServer;

constexpr const char* kCrumb = "Xk2p.9abc/Q";
constexpr int64_t kJan2 = 1'704'153'600;  // 2024-01-02T00:00Z
constexpr int64_t kJan8 = 1'704'672'000;  // 2024-01-08T00:00Z

class YahooSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& s = server_.server();
    s.Get("/consent", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;  // like fc.yahoo.com: a 404 page that sets the cookie
      res.set_header("Set-Cookie", "A3=d=AQABBtest&S=AQAAAx; Path=/; HttpOnly");
      res.set_content(fixture("yahoo_consent.html"), "text/html");
    });
    s.Get("/v1/test/getcrumb", [this](const httplib::Request& req, httplib::Response& res) {
      if (crumb_status_ != 200) {
        res.status = crumb_status_;
        res.set_content("Too Many Requests", "text/plain");
        return;
      }
      bool has_cookie = req.get_header_value("Cookie").find("A3=") != std::string::npos;
      res.status = has_cookie ? 200 : 401;
      res.set_content(has_cookie ? kCrumb : "", "text/plain");
    });
    s.Get(R"(/v8/finance/chart/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (req.get_param_value("crumb") != kCrumb) {
        res.status = 401;
        res.set_content(fixture("yahoo_401_invalid_crumb.json"), "application/json");
        return;
      }
      chart_(req, res);
    });
    config_.yahoo_base_url = server_.url();
    config_.yahoo_cookie_url = server_.url() + "/consent";
    config_.yahoo = {1000.0, 100, 1, 10, 50, 400, 3, 60};
  }

  void serve(int status, const std::string& body, const char* type = "application/json") {
    chart_ = [status, body, type](const httplib::Request&, httplib::Response& res) {
      res.status = status;
      res.set_content(body, type);
    };
  }

  Result<Bars> fetch(const std::string& symbol, const std::string& tf, int64_t from, int64_t to,
                     int64_t now = 1'704'672'000) {
    YahooSource source(config_, nullptr, [now] { return now; });
    auto bars = source.fetch({symbol, tf, from, to}, {});
    requests_ = source.requests_sent();
    return bars;
  }

  LocalHttpServer server_;
  config::FetcherConfig config_;
  std::function<void(const httplib::Request&, httplib::Response&)> chart_;
  int crumb_status_ = 200;
  uint64_t requests_ = 0;
};

TEST_F(YahooSourceTest, HappyPathWithCookieAndCrumbDropsTheLiveBar) {
  serve(200, fixture("yahoo_chart_aapl_1d.json"));
  auto bars = fetch("AAPL", "1d", kJan2, kJan8);
  ASSERT_TRUE(bars.ok()) << bars.error();
  ASSERT_EQ(bars->size(), 4u);  // the 5th bar (2024-01-08 14:30) is past period2
  EXPECT_EQ(bars->ts[0], 1'704'205'800);
  EXPECT_DOUBLE_EQ(bars->open[0], 187.14999389648438);
  EXPECT_DOUBLE_EQ(bars->close[3], 181.17999267578125);
  EXPECT_DOUBLE_EQ(bars->volume[1], 58414500);
  auto seen = server_.seen();
  ASSERT_EQ(seen.size(), 3u);  // consent, getcrumb, chart
  EXPECT_EQ(seen[2].param("interval"), "1d");
  EXPECT_EQ(seen[2].param("period1"), std::to_string(kJan2));
  EXPECT_EQ(seen[2].param("period2"), std::to_string(kJan8));
  EXPECT_NE(seen[2].cookie.find("A3="), std::string::npos);
}

TEST_F(YahooSourceTest, NullEntriesAreSkippedBars) {
  const int64_t now = kJan8, t0 = kJan8 - 2 * 86400;
  std::string body = fixture("yahoo_chart_nulls_1m.json");
  std::string ts = std::to_string(t0) + "," + std::to_string(t0 + 60) + "," +
                   std::to_string(t0 + 120) + "," + std::to_string(t0 + 180);
  body.replace(body.find("PLACEHOLDER_TS"), 14, ts);
  serve(200, body);
  auto bars = fetch("MSFT", "1m", t0, t0 + 3600, now);
  ASSERT_TRUE(bars.ok()) << bars.error();
  ASSERT_EQ(bars->size(), 3u);
  EXPECT_EQ(bars->ts[1], t0 + 120);
}

TEST_F(YahooSourceTest, EmptyArraysAreNoBarsNotAnError) {
  serve(200, fixture("yahoo_chart_empty.json"));
  auto bars = fetch("AAPL", "1d", kJan2, kJan8);
  ASSERT_TRUE(bars.ok()) << bars.error();
  EXPECT_EQ(bars->size(), 0u);
}

TEST_F(YahooSourceTest, ChartErrorsBecomeClearErrors) {
  serve(422, fixture("yahoo_chart_422.json"));
  auto range = fetch("AAPL", "1d", kJan2, kJan8);
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.error().find("Unprocessable Entity"), std::string::npos) << range.error();
  EXPECT_NE(range.error().find("within the last 30 days"), std::string::npos);

  serve(404, fixture("yahoo_chart_404.json"));
  auto missing = fetch("NOPE", "1d", kJan2, kJan8);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("No data found, symbol may be delisted"), std::string::npos)
      << missing.error();
}

TEST_F(YahooSourceTest, InvalidCrumbIsReMintedOnceThenSucceeds) {
  int chart_calls = 0;
  chart_ = [&](const httplib::Request&, httplib::Response& res) {
    if (++chart_calls == 1) {  // the first crumb has expired on the server side
      res.status = 401;
      res.set_content(fixture("yahoo_401_invalid_crumb.json"), "application/json");
      return;
    }
    res.set_content(fixture("yahoo_chart_aapl_1d.json"), "application/json");
  };
  auto bars = fetch("AAPL", "1d", kJan2, kJan8);
  ASSERT_TRUE(bars.ok()) << bars.error();
  EXPECT_EQ(bars->size(), 4u);
  EXPECT_EQ(server_.count("/v1/test/getcrumb"), 2u);
  EXPECT_EQ(server_.count("/consent"), 2u);
  EXPECT_EQ(chart_calls, 2);
}

TEST_F(YahooSourceTest, InvalidCrumbTwiceIsAnError) {
  serve(401, fixture("yahoo_401_invalid_crumb.json"));
  auto bars = fetch("AAPL", "1d", kJan2, kJan8);
  ASSERT_FALSE(bars.ok());
  EXPECT_NE(bars.error().find("HTTP 401"), std::string::npos) << bars.error();
  EXPECT_EQ(server_.count("/v8/finance/chart"), 2u);
}

TEST_F(YahooSourceTest, GetcrumbTooManyRequestsIsRateLimited) {
  crumb_status_ = 429;
  serve(200, fixture("yahoo_chart_aapl_1d.json"));
  auto bars = fetch("AAPL", "1d", kJan2, kJan8);
  ASSERT_FALSE(bars.ok());
  EXPECT_NE(bars.error().find("Too Many Requests"), std::string::npos) << bars.error();
  EXPECT_EQ(server_.count("/v8/finance/chart"), 0u);
}

TEST_F(YahooSourceTest, GetcrumbTooManyRequestsInABody200IsRateLimitedToo) {
  // Yahoo sometimes answers getcrumb with status 200 and this body.
  server_.server().Get("/tmr/v1/test/getcrumb", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("Too Many Requests\r\n", "text/plain");
  });
  config_.yahoo_base_url = server_.url() + "/tmr";
  auto bars = fetch("AAPL", "1d", kJan2, kJan8);
  ASSERT_FALSE(bars.ok());
  EXPECT_NE(bars.error().find("Too Many Requests"), std::string::npos) << bars.error();
  EXPECT_EQ(server_.count("/tmr/v1/test/getcrumb"), 2u);  // first try + one retry, then stop
}

TEST_F(YahooSourceTest, TruncatedJsonAndHtmlAreErrors) {
  std::string body = fixture("yahoo_chart_aapl_1d.json");
  serve(200, body.substr(0, body.size() / 2));
  auto truncated = fetch("AAPL", "1d", kJan2, kJan8);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().find("not valid JSON"), std::string::npos) << truncated.error();

  serve(200, fixture("yahoo_consent.html"), "text/html");
  auto html = fetch("AAPL", "1d", kJan2, kJan8);
  ASSERT_FALSE(html.ok());
  EXPECT_NE(html.error().find("HTML"), std::string::npos) << html.error();
}

TEST_F(YahooSourceTest, AHangingServerTimesOut) {
  chart_ = [this](const httplib::Request&, httplib::Response& res) {
    for (int i = 0; i < 40 && !server_.stopping(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    res.set_content("{}", "application/json");
  };
  auto started = std::chrono::steady_clock::now();
  auto bars = fetch("AAPL", "1d", kJan2, kJan8);
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(bars.ok());
  EXPECT_NE(bars.error().find("Timeout"), std::string::npos) << bars.error();
  EXPECT_NE(bars.error().find("gave up after 2 attempts"), std::string::npos) << bars.error();
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST_F(YahooSourceTest, RefusesRangesYahooNeverServesWithoutAsking) {
  serve(200, fixture("yahoo_chart_empty.json"));
  const int64_t now = kJan8;
  auto old = fetch("AAPL", "1m", now - 40 * 86400, now - 39 * 86400, now);
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.error().find("only for the last 30 days"), std::string::npos) << old.error();
  auto four_hours = fetch("AAPL", "4h", kJan2, kJan8);
  ASSERT_FALSE(four_hours.ok());
  EXPECT_NE(four_hours.error().find("no '4h' interval"), std::string::npos);
  EXPECT_EQ(server_.seen().size(), 0u);
}

TEST_F(YahooSourceTest, SplitsMinuteRangesIntoEightDayRequests) {
  serve(200, fixture("yahoo_chart_empty.json"));
  const int64_t now = kJan8;
  auto bars = fetch("AAPL", "1m", now - 20 * 86400, now, now);
  ASSERT_TRUE(bars.ok()) << bars.error();
  std::vector<testing::SeenRequest> charts;
  for (const auto& r : server_.seen()) {
    if (r.path.rfind("/v8/", 0) == 0) charts.push_back(r);
  }
  ASSERT_EQ(charts.size(), 3u);  // 8 + 8 + 4 days
  int64_t expected_from = now - 20 * 86400;
  for (const auto& r : charts) {
    int64_t p1 = std::stoll(r.param("period1")), p2 = std::stoll(r.param("period2"));
    EXPECT_EQ(p1, expected_from);
    EXPECT_LE(p2 - p1, 8 * 86400);
    expected_from = p2;
  }
  EXPECT_EQ(expected_from, now);
}

}  // namespace
}  // namespace nightshift::fetcher
