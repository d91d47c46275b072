// ingest_range: pages stored on a writer thread while the next page is
// fetched, on a real SQLite file. All or nothing must hold whichever side
// fails, and at whatever point.
#include "stages/fetcher/ingest.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "stages/fetcher/binance_source.h"
#include "tests/unit/fetcher/binance_klines_server.h"

namespace nightshift::fetcher {
namespace {

constexpr int64_t kJan1 = 1'704'067'200;

Bars page_of(int64_t from_ts, int rows, double volume = 10) {
  Bars b;
  for (int i = 0; i < rows; ++i) b.push_back({from_ts + i * 60, 100, 101, 99, 100.5, volume});
  return b;
}

// Hands over scripted pages; can fail or throw at a given page and run a
// hook before each page.
class ScriptedSource : public BarSource {
 public:
  std::vector<Bars> pages;
  int fail_at = -1;   // return an error instead of handing over this page
  int throw_at = -1;  // throw instead of handing over this page
  std::function<void(int)> before_page;
  std::atomic<int> handed{0};
  std::thread::id called_on;

  std::string name() const override { return "scripted"; }
  Result<Bars> fetch(const FetchRange&, const ProgressSink&) override {
    return make_error("not used");
  }
  Status fetch_pages(const FetchRange&, const ProgressSink& progress, const PageSink& sink) override {
    called_on = std::this_thread::get_id();
    for (int i = 0; i < static_cast<int>(pages.size()); ++i) {
      if (before_page) before_page(i);
      if (i == fail_at) return make_error("scripted: HTTP 503 on page " + std::to_string(i + 1));
      if (i == throw_at) throw std::runtime_error("scripted: exception on page " + std::to_string(i + 1));
      ++handed;
      if (Status s = sink(Bars(pages[i])); !s) return s;
      if (progress) progress(static_cast<double>(i + 1) / static_cast<double>(pages.size()));
    }
    return Status::success();
  }
};

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/nightshift-ingest-XXXXXX";
    dir_ = mkdtemp(pattern);
    auto cache = MarketCache::open(path());
    ASSERT_TRUE(cache.ok()) << cache.error();
    cache_ = std::make_unique<MarketCache>(std::move(*cache));
  }
  void TearDown() override {
    cache_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string path() const { return dir_ + "/market.db"; }

  Result<IngestResult> ingest(BarSource& source, int64_t from, int64_t to,
                              const ProgressSink& progress = {}) {
    return ingest_range(source, *cache_, key_, FetchLogEntry{from, to, 1234, "", "", {}}, 60, progress);
  }
  int64_t count(const std::string& sql) {
    auto n = cache_->database().query_int(sql);
    EXPECT_TRUE(n.ok()) << n.error();
    return n.ok() ? *n : -1;
  }
  void expect_nothing_stored() {
    EXPECT_EQ(count("SELECT COUNT(*) FROM bars"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM series"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM fetch_log WHERE status = 'ok'"), 0);
  }
  // Another connection, as another process would hold: can it write now?
  bool other_writer_can_begin() {
    sql::OpenOptions options;
    options.busy_timeout_ms = 0;
    auto other = sql::Database::open(path(), options);
    EXPECT_TRUE(other.ok());
    if (!other.ok()) return false;
    if (!other->exec("BEGIN IMMEDIATE")) return false;
    (void)other->exec("ROLLBACK");
    return true;
  }
  int64_t rows_seen_by_another_connection() {
    auto other = sql::Database::open(path());
    if (!other.ok()) return -1;
    auto n = other->query_int("SELECT COUNT(*) FROM bars");
    return n.ok() ? *n : -1;
  }

  std::string dir_;
  std::unique_ptr<MarketCache> cache_;
  SeriesKey key_{"scripted", "BTCUSDT", "1m"};
};

TEST_F(IngestTest, StoresEveryPageWithCoverageAndLogInOneCommit) {
  ScriptedSource source;
  for (int p = 0; p < 10; ++p) source.pages.push_back(page_of(kJan1 + p * 100 * 60, 100));
  std::vector<double> progress;
  std::thread::id progress_thread;
  auto result = ingest(source, kJan1, kJan1 + 1000 * 60, [&](double f) {
    progress.push_back(f);
    progress_thread = std::this_thread::get_id();
  });
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->rows_stored, 1000u);
  EXPECT_EQ(result->stats.pages, 10u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM bars"), 1000);
  EXPECT_EQ(count("SELECT covered_from = " + std::to_string(kJan1) + " AND covered_to = " +
                  std::to_string(kJan1 + 60'000) + " FROM series"),
            1);
  EXPECT_EQ(count("SELECT rows_in * 10000 + rows_stored FROM fetch_log WHERE status = 'ok'"),
            1000 * 10000 + 1000);
  // The source (and so politeness, progress and notices) ran on the caller's thread.
  EXPECT_EQ(source.called_on, std::this_thread::get_id());
  EXPECT_EQ(progress_thread, std::this_thread::get_id());
  EXPECT_EQ(progress.size(), 10u);
  EXPECT_TRUE(other_writer_can_begin());  // the write lock is released
}

TEST_F(IngestTest, ALaterPageFailingStoresNothingOfTheEarlierPages) {
  ScriptedSource source;
  for (int p = 0; p < 6; ++p) source.pages.push_back(page_of(kJan1 + p * 100 * 60, 100));
  source.fail_at = 4;
  bool writer_was_storing = false;
  int64_t visible_meanwhile = -1;
  source.before_page = [&](int page) {
    if (page != 4) return;
    // Pages 1-4 were handed over: the writer thread stores them inside its
    // transaction (it holds the write lock) while nothing is visible outside.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (other_writer_can_begin() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    writer_was_storing = !other_writer_can_begin();
    visible_meanwhile = rows_seen_by_another_connection();
  };
  auto result = ingest(source, kJan1, kJan1 + 600 * 60);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("HTTP 503 on page 5"), std::string::npos) << result.error();
  EXPECT_TRUE(writer_was_storing);
  EXPECT_EQ(visible_meanwhile, 0);
  expect_nothing_stored();
  EXPECT_EQ(count("SELECT COUNT(*) FROM fetch_log WHERE status = 'error' AND message LIKE '%HTTP 503%'"), 1);
  EXPECT_TRUE(other_writer_can_begin());  // rolled back, lock released
}

TEST_F(IngestTest, AFailedWriteStopsTheFetchAndStoresNothing) {
  ScriptedSource source;
  for (int p = 0; p < 50; ++p) source.pages.push_back(page_of(kJan1 + p * 10 * 60, 10));
  // The cache refuses the 2nd page's first bar (a full disk, a constraint...).
  ASSERT_TRUE(cache_->database().exec(
      "CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.bars WHEN NEW.ts = " +
      std::to_string(kJan1 + 600) + " BEGIN SELECT RAISE(ABORT, 'disk says no'); END"));
  auto result = ingest(source, kJan1, kJan1 + 500 * 60);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("disk says no"), std::string::npos) << result.error();
  // At most the queue's worth of pages beyond the failed one was fetched.
  EXPECT_LE(source.handed.load(), 2 + static_cast<int>(kQueuedPages) + 2);
  expect_nothing_stored();
  EXPECT_EQ(count("SELECT COUNT(*) FROM fetch_log"), 0);  // as before: a store error logs nothing
  EXPECT_TRUE(other_writer_can_begin());
}

TEST_F(IngestTest, AnExceptionInTheSourceRollsBackAndJoinsTheWriter) {
  ScriptedSource source;
  for (int p = 0; p < 5; ++p) source.pages.push_back(page_of(kJan1 + p * 100 * 60, 100));
  source.throw_at = 3;
  EXPECT_THROW((void)ingest(source, kJan1, kJan1 + 500 * 60), std::runtime_error);
  expect_nothing_stored();
  EXPECT_TRUE(other_writer_can_begin());
  source.throw_at = -1;  // the cache is usable afterwards
  auto again = ingest(source, kJan1, kJan1 + 500 * 60);
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(count("SELECT COUNT(*) FROM bars"), 500);
}

TEST_F(IngestTest, AnEmptyRangeStillRecordsCoverage) {
  ScriptedSource source;  // no pages: a genuine hole
  auto result = ingest(source, kJan1, kJan1 + 3600);
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->rows_stored, 0u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM series"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM fetch_log WHERE status = 'ok'"), 1);
}

TEST_F(IngestTest, ARowRepeatedByALaterPageIsReplacedAndCounted) {
  ScriptedSource source;
  source.pages.push_back(page_of(kJan1, 100, 10));
  source.pages.push_back(page_of(kJan1 + 99 * 60, 100, 20));  // overlaps the last row of page 1
  auto result = ingest(source, kJan1, kJan1 + 199 * 60);
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->report.duplicates, 1u);
  EXPECT_EQ(result->rows_stored, 199u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM bars"), 199);
  EXPECT_EQ(count("SELECT CAST(volume AS INTEGER) FROM bars WHERE ts = " + std::to_string(kJan1 + 99 * 60)),
            20);  // the later row wins
}

TEST_F(IngestTest, BinancePagesOverHttpMatchFetchThenValidate) {
  testing::LocalHttpServer server;
  server.server().Get("/api/v3/klines", [](const httplib::Request& req, httplib::Response& res) {
    testing::serve_klines(res, req);
  });
  config::FetcherConfig config;
  config.binance_base_url = server.url();
  config.binance = {1000.0, 100, 0, 10, 50, 1000, 3, 60};
  BinanceSource source(config, nullptr);
  const int64_t end = kJan1 + 2500 * 60;
  key_ = {"binance", "BTCUSDT", "1m"};
  auto result = ingest(source, kJan1, end);
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->stats.pages, 3u);
  auto expected = source.fetch({"BTCUSDT", "1m", kJan1, end}, {});
  ASSERT_TRUE(expected.ok());
  auto report = validate_bars(*expected, 60);
  EXPECT_EQ(result->report.summary(), report.summary());
  auto stored = cache_->read(key_, kJan1, end);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->ts, expected->ts);
  EXPECT_EQ(stored->close, expected->close);
  EXPECT_EQ(stored->volume, expected->volume);
}

}  // namespace
}  // namespace nightshift::fetcher
