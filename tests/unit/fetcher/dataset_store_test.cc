// DatasetStore + MarketCache on a real SQLite file, fed by BinanceSource from
// a real local HTTP server: incremental fetching and all-or-nothing ingest.
#include "stages/fetcher/dataset_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include "stages/fetcher/binance_source.h"
#include "stages/fetcher/csv_source.h"
#include "stages/fetcher/synthetic_source.h"
#include "tests/unit/fetcher/binance_klines_server.h"

namespace nightshift::fetcher {
namespace {

using testing::LocalHttpServer;

constexpr int64_t kJan1 = 1'704'067'200;
constexpr int64_t kDay = 86'400;

std::string temp_dir() {
  char pattern[] = "/tmp/nightshift-fetcher-XXXXXX";
  return mkdtemp(pattern);
}

class DatasetStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir();
    server_.server().Get("/api/v3/klines", [this](const httplib::Request& req, httplib::Response& res) {
      handler_(req, res);
    });
    handler_ = [](const httplib::Request& req, httplib::Response& res) { testing::serve_klines(res, req); };
    config_.binance_base_url = server_.url();
    config_.binance = {1000.0, 100, 0, 10, 50, 1000, 3, 60};
    auto cache = MarketCache::open(dir_ + "/market.db");
    ASSERT_TRUE(cache.ok()) << cache.error();
    cache_ = std::make_unique<MarketCache>(std::move(*cache));
    store_ = std::make_unique<DatasetStore>(*cache_, 365, [] { return kJan1 + 30 * kDay; });
    store_->add_source(std::make_unique<BinanceSource>(config_, nullptr));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<DatasetAnswer> get(int64_t from, int64_t to, const std::string& tf = "1h") {
    return store_->get({"binance", "BTCUSDT", tf, from, to});
  }

  std::string dir_;
  LocalHttpServer server_;
  config::FetcherConfig config_;
  std::function<void(const httplib::Request&, httplib::Response&)> handler_;
  std::unique_ptr<MarketCache> cache_;
  std::unique_ptr<DatasetStore> store_;
};

TEST_F(DatasetStoreTest, SecondFetchOfTheSameRangeMakesNoRequest) {
  auto first = get(kJan1, kJan1 + 3 * kDay);
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_EQ(first->bars.size(), 72u);
  EXPECT_EQ(first->fetches, 1);
  const auto after_first = server_.seen().size();
  EXPECT_EQ(after_first, 1u);

  auto second = get(kJan1, kJan1 + 3 * kDay);
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_EQ(second->fetches, 0);
  EXPECT_EQ(server_.seen().size(), after_first);  // zero requests
  EXPECT_EQ(second->bars.close, first->bars.close);

  auto inner = get(kJan1 + kDay, kJan1 + 2 * kDay);  // a sub-range is covered too
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(inner->bars.size(), 24u);
  EXPECT_EQ(server_.seen().size(), after_first);
}

// The dataset service's pool threads read through their own read-only
// connections: get_cached() answers only what the cache covers (no request
// to the source), and says "fetch first" for the rest.
TEST_F(DatasetStoreTest, GetCachedAnswersCoveredRangesFromAReadOnlyConnection) {
  auto reader = MarketCache::open_read_only(dir_ + "/market.db");
  ASSERT_TRUE(reader.ok()) << reader.error();
  auto query = store_->resolve({"binance", "BTCUSDT", "1h", kJan1, kJan1 + 3 * kDay});
  ASSERT_TRUE(query.ok()) << query.error();
  auto before = store_->get_cached(*reader, *query);
  ASSERT_TRUE(before.ok()) << before.error();
  EXPECT_FALSE(before->has_value()) << "answered a range the cache does not hold";
  EXPECT_EQ(server_.seen().size(), 0u);

  auto fetched = store_->get(*query);
  ASSERT_TRUE(fetched.ok()) << fetched.error();
  auto after = store_->get_cached(*reader, *query);
  ASSERT_TRUE(after.ok()) << after.error();
  ASSERT_TRUE(after->has_value());
  EXPECT_EQ((*after)->bars.close, fetched->bars.close);
  EXPECT_EQ((*after)->fetches, 0);
  EXPECT_EQ(server_.seen().size(), 1u);
  // Reaching past the coverage needs a fetch again.
  auto wider = store_->resolve({"binance", "BTCUSDT", "1h", kJan1, kJan1 + 4 * kDay});
  ASSERT_TRUE(wider.ok());
  auto beyond = store_->get_cached(*reader, *wider);
  ASSERT_TRUE(beyond.ok());
  EXPECT_FALSE(beyond->has_value());

  EXPECT_FALSE(store_->resolve({"nosuch", "BTCUSDT", "1h", kJan1, kJan1 + kDay}).ok());
  EXPECT_FALSE(store_->resolve({"binance", "BTCUSDT", "1h", kJan1 + kDay, kJan1}).ok());
  // A read-only connection cannot write.
  EXPECT_FALSE(reader->log_failure({"binance", "BTCUSDT", "1h"}, {kJan1, kJan1 + kDay, kJan1, "error", "x", {}}).ok());
}

// A query with no range reaches back the timeframe's own history.
TEST_F(DatasetStoreTest, HistoryWithoutAStartIsPerTimeframe) {
  config::FetcherConfig fetcher;
  fetcher.history_days = 3;
  fetcher.history_days_by_timeframe = {{"1h", 2}};
  DatasetStore store(*cache_, [&](const std::string& tf) { return fetcher.history_days_for(tf); },
                     [] { return kJan1 + 30 * kDay; });
  store.add_source(std::make_unique<BinanceSource>(config_, nullptr));
  auto hourly = store.get({"binance", "BTCUSDT", "1h", 0, 0});
  ASSERT_TRUE(hourly.ok()) << hourly.error();
  EXPECT_EQ(hourly->bars.size(), 48u);  // 2 days of 1h bars
  auto four_hourly = store.get({"binance", "BTCUSDT", "4h", 0, 0});
  ASSERT_TRUE(four_hourly.ok()) << four_hourly.error();
  EXPECT_EQ(four_hourly->bars.size(), 18u);  // history_days (3) of 4h bars
}

TEST_F(DatasetStoreTest, ExtendingByOneDayRequestsOnlyTheNewDay) {
  ASSERT_TRUE(get(kJan1, kJan1 + 3 * kDay).ok());
  auto extended = get(kJan1, kJan1 + 4 * kDay);
  ASSERT_TRUE(extended.ok()) << extended.error();
  EXPECT_EQ(extended->bars.size(), 96u);
  EXPECT_EQ(extended->rows_stored, 24u);
  auto seen = server_.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].param("startTime"), std::to_string((kJan1 + 3 * kDay) * 1000));
  EXPECT_EQ(seen[1].param("endTime"), std::to_string((kJan1 + 4 * kDay) * 1000 - 1));
  auto cov = cache_->coverage({"binance", "BTCUSDT", "1h"});
  ASSERT_TRUE(cov.ok() && cov->has_value());
  EXPECT_EQ((*cov)->from_ts, kJan1);
  EXPECT_EQ((*cov)->to_ts, kJan1 + 4 * kDay);
  EXPECT_FALSE((*cov)->synthetic);
}

TEST_F(DatasetStoreTest, AFailedPageStoresNothing) {
  std::atomic<int> calls{0};
  handler_ = [&](const httplib::Request& req, httplib::Response& res) {
    if (++calls == 2) {  // page 2 of 3 breaks off mid-body
      res.set_content("[[1704127200000,\"42000.0\",\"4210", "application/json");
      return;
    }
    testing::serve_klines(res, req);
  };
  auto answer = get(kJan1, kJan1 + 2500 * 60, "1m");
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.error().find("not valid JSON"), std::string::npos) << answer.error();
  auto bars = cache_->read({"binance", "BTCUSDT", "1m"}, 0, INT64_MAX);
  ASSERT_TRUE(bars.ok());
  EXPECT_EQ(bars->size(), 0u);  // page 1 was not stored as if complete
  auto cov = cache_->coverage({"binance", "BTCUSDT", "1m"});
  ASSERT_TRUE(cov.ok());
  EXPECT_FALSE(cov->has_value());
  auto errors = cache_->database().query_int("SELECT COUNT(*) FROM fetch_log WHERE status = 'error'");
  ASSERT_TRUE(errors.ok());
  EXPECT_EQ(*errors, 1);
  // The next attempt fetches the whole range again and succeeds.
  auto retry = get(kJan1, kJan1 + 2500 * 60, "1m");
  ASSERT_TRUE(retry.ok()) << retry.error();
  EXPECT_EQ(retry->bars.size(), 2500u);
}

TEST_F(DatasetStoreTest, BadRowsAreCountedNotStored) {
  std::ofstream(dir_ + "/XYZ_1h.csv") << "ts,open,high,low,close,volume\n"
                                      << kJan1 << ",10,11,9,10.5,100\n"
                                      << kJan1 + 3600 << ",10,9,11,10,100\n"     // high < low
                                      << kJan1 + 7200 << ",nan,11,9,10,100\n"    // NaN
                                      << kJan1 + 7200 << ",10,10.2,9,10.8,50\n"  // repaired high
                                      << kJan1 + 7200 << ",10,11,9,10.1,60\n"    // duplicate: kept
                                      << kJan1 + 5 * 3600 << ",10,11,9,10,-1\n"  // negative volume
                                      << kJan1 + 6 * 3600 << ",10,11,9,10,70\n"; // after a gap
  store_->add_source(std::make_unique<CsvSource>(dir_));
  auto answer = store_->get({"csv", "XYZ", "1h", kJan1, kJan1 + kDay});
  ASSERT_TRUE(answer.ok()) << answer.error();
  EXPECT_EQ(answer->bars.size(), 3u);
  EXPECT_EQ(answer->report.rows_in, 7u);
  EXPECT_EQ(answer->report.rejected, 3u);
  EXPECT_EQ(answer->report.repaired, 1u);
  EXPECT_EQ(answer->report.duplicates, 1u);
  EXPECT_EQ(answer->report.gaps, 2u);  // 0 -> 2h and 2h -> 6h
  EXPECT_DOUBLE_EQ(answer->bars.close[1], 10.1);
  auto logged = cache_->database().query_int(
      "SELECT rows_rejected * 100 + duplicates * 10 + gaps FROM fetch_log WHERE source = 'csv'");
  ASSERT_TRUE(logged.ok());
  EXPECT_EQ(*logged, 312);
}

TEST_F(DatasetStoreTest, SyntheticDataIsLabelledSynthetic) {
  store_->add_source(std::make_unique<SyntheticSource>(42, 0.1, std::map<std::string, double>{}));
  auto answer = store_->get({"synthetic", "BTCUSDT", "1d", kJan1, kJan1 + 10 * kDay});
  ASSERT_TRUE(answer.ok()) << answer.error();
  EXPECT_TRUE(answer->synthetic);
  EXPECT_EQ(answer->bars.size(), 10u);
  auto listed = cache_->list();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE((*listed)[0].coverage.synthetic);
  EXPECT_EQ((*listed)[0].bars, 10);
}

TEST_F(DatasetStoreTest, UnknownSourceOrTimeframeIsAnError) {
  auto no_source = store_->get({"nasdaq", "BTCUSDT", "1h", kJan1, kJan1 + kDay});
  ASSERT_FALSE(no_source.ok());
  EXPECT_NE(no_source.error().find("no source named 'nasdaq'"), std::string::npos);
  auto bad_tf = get(kJan1, kJan1 + kDay, "2h");
  ASSERT_FALSE(bad_tf.ok());
  EXPECT_NE(bad_tf.error().find("unknown timeframe '2h'"), std::string::npos);
  EXPECT_EQ(server_.seen().size(), 0u);
}

}  // namespace
}  // namespace nightshift::fetcher
