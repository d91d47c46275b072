// The gateway's request handling without a server: target parsing, token
// checks, method and path rules, GPU health by the alert rules, and the
// static-file table (no path reaches the file system).
#include <gtest/gtest.h>

#include "stages/gateway/api.h"
#include "stages/gateway/gateway_stage.h"
#include "stages/gateway/web_assets.h"

namespace nightshift::gateway {
namespace {

struct ApiFixture {
  explicit ApiFixture(std::string token = "") {
    config.dashboard.token = std::move(token);
    config.storage.results_db = "/nonexistent/nightshift.db";
  }
  config::Config config;
  LiveState live{config};
  History history{config.storage.results_db};
  Metrics metrics;
  StreamCounters streams;
  Api api{config, live, history, metrics, streams};
};

TEST(GatewayTarget, SplitsAndDecodes) {
  auto t = parse_target("/api/runs/r%201/trials?study=BTC.1h&x=a+b&flag");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/api/runs/r 1/trials");
  EXPECT_EQ(t->query.at("study"), "BTC.1h");
  EXPECT_EQ(t->query.at("x"), "a b");
  EXPECT_EQ(t->query.at("flag"), "");
  EXPECT_FALSE(parse_target("/a%zz"));
  EXPECT_FALSE(parse_target("/a%2"));
  EXPECT_FALSE(parse_target("/a?b=%"));
}

TEST(GatewayApi, MethodsPathsAndParameters) {
  ApiFixture f;
  EXPECT_EQ(f.api.handle("POST", "/api/status", "").status, 405);
  EXPECT_EQ(f.api.handle("GET", "/nope", "").status, 404);
  EXPECT_EQ(f.api.handle("GET", "/%2e%2e/%2e%2e/etc/passwd", "").status, 404);
  EXPECT_EQ(f.api.handle("GET", "/../../etc/passwd", "").status, 404);
  EXPECT_EQ(f.api.handle("GET", "/a%zz", "").status, 400);
  EXPECT_EQ(f.api.handle("GET", "/gpu/history?minutes=0", "").status, 400);
  EXPECT_EQ(f.api.handle("GET", "/gpu/history?minutes=61", "").status, 400);
  EXPECT_EQ(f.api.handle("GET", "/gpu/history?minutes=5", "").status, 200);
  EXPECT_EQ(f.api.handle("GET", "/api/v1/analytics/gpu/metrics", "").status, 400);
  EXPECT_EQ(f.api.handle("GET", "/api/v1/analytics/gpu/metrics?device_id=0", "").status, 404);
  EXPECT_EQ(f.api.handle("GET", "/api/alerts?active=2", "").status, 400);
  EXPECT_EQ(f.api.handle("GET", "/api/runs/r1", "").status, 404);  // no database
  Response status = f.api.handle("GET", "/api/status", "");
  EXPECT_EQ(status.status, 200);
  EXPECT_NE(status.body.find("\"status\":\"idle\""), std::string::npos) << status.body;
  Response error = f.api.handle("GET", "/gpu/history?minutes=x", "");
  EXPECT_NE(error.body.find("\"error\""), std::string::npos);
}

TEST(GatewayApi, TokenByHeaderOrQuery) {
  ApiFixture f("s3cret");
  EXPECT_EQ(f.api.handle("GET", "/health", "").status, 401);
  EXPECT_EQ(f.api.handle("GET", "/health", "Bearer wrong").status, 401);
  EXPECT_EQ(f.api.handle("GET", "/health", "Bearer s3cre").status, 401);
  EXPECT_EQ(f.api.handle("GET", "/health", "s3cret").status, 401);
  EXPECT_EQ(f.api.handle("GET", "/health", "Bearer s3cret").status, 200);
  EXPECT_EQ(f.api.handle("GET", "/health?token=s3cret", "").status, 200);
  EXPECT_EQ(f.api.handle("POST", "/health", "").status, 401);  // who asks first, then what
}

TEST(GatewayHealth, FollowsTheAlertRules) {
  auto rules = config::rules_from_config(config::AlertThresholds{});
  GpuSample gpu;
  gpu.temp_c = 65;
  EXPECT_EQ(judge_gpu(gpu, rules).status, "healthy");
  gpu.temp_c = 75;
  EXPECT_EQ(judge_gpu(gpu, rules).status, "warning");
  gpu.temp_c = 85;
  auto health = judge_gpu(gpu, rules);
  EXPECT_EQ(health.status, "critical");
  EXPECT_EQ(health.issues.size(), 2u);
  gpu.temp_c = 50;
  gpu.mem_total_bytes = 100;
  gpu.mem_used_bytes = 95;
  EXPECT_EQ(judge_gpu(gpu, rules).status, "warning");
  GpuSample nothing;  // absent fields are not zero and not a problem
  EXPECT_EQ(judge_gpu(nothing, rules).status, "healthy");
}

TEST(GatewayAssets, OnlyTheEmbeddedNames) {
  ASSERT_NE(find_web_asset("/index.html"), nullptr);
  EXPECT_NE(find_web_asset("/index.html")->body.find("gpu-cards"), std::string_view::npos);
  ASSERT_NE(find_web_asset("/chart.min.js"), nullptr);
  EXPECT_GT(find_web_asset("/chart.min.js")->body.size(), 100'000u);
  EXPECT_EQ(find_web_asset("/../index.html"), nullptr);
  EXPECT_EQ(find_web_asset("index.html"), nullptr);
  EXPECT_EQ(find_web_asset("/etc/passwd"), nullptr);
}

TEST(GatewayBind, LoopbackOnly) {
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("127.1.2.3"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_FALSE(is_loopback("0.0.0.0"));
  EXPECT_FALSE(is_loopback("192.168.1.5"));
  EXPECT_FALSE(is_loopback("localhost"));
}

}  // namespace
}  // namespace nightshift::gateway
