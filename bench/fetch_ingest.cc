// bench_fetch_ingest: how fast bars get from a (local) exchange into the
// market cache, compared with the fastest way to put the same rows into
// SQLite: one prepared INSERT in one transaction through the sqlite3 C API.
//
// nightshift path: ingest_range, what DatasetStore runs for every missing
// range: BinanceSource pages /api/v3/klines over HTTP (libcurl) and parses
// the JSON, each page is validated, and a writer thread stores the pages
// through MarketCache::Writer (bars + coverage + fetch log, one transaction,
// committed after the last page) while the next page is fetched. Timed from
// the first request to the COMMIT. Target: >= 0.5 of raw.
//
// Usage: bench_fetch_ingest [bars=300000]
#include <httplib.h>
#include <netinet/tcp.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "stages/fetcher/binance_source.h"
#include "stages/fetcher/ingest.h"
#include "stages/fetcher/market_cache.h"

namespace {

using namespace nightshift;
using Clock = std::chrono::steady_clock;

constexpr int64_t kStart = 1'704'067'200;  // 2024-01-01T00:00Z, 1m bars

std::string klines(int64_t start_ms, int64_t end_ms, int limit) {
  std::string out = "[";
  int rows = 0;
  for (int64_t t = (start_ms + 59'999) / 60'000 * 60'000; t <= end_ms && rows < limit; t += 60'000, ++rows) {
    double p = 40000.0 + static_cast<double>((t / 60'000) % 997);
    char row[400];
    std::snprintf(row, sizeof(row),
                  "%s[%lld,\"%.8f\",\"%.8f\",\"%.8f\",\"%.8f\",\"%.8f\",%lld,\"%.8f\",%d,\"%.8f\",\"%.8f\",\"0\"]",
                  rows ? "," : "", static_cast<long long>(t), p, p + 20.5, p - 10.25, p + 2.0,
                  10.0 + rows % 13, static_cast<long long>(t + 59'999), p * 10.0, 900 + rows, 5.0, p * 5.0);
    out += row;
  }
  return out + "]";
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The peer: the same rows, same table, one prepared statement, one transaction.
double raw_insert_s(const std::string& path, const Bars& bars) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
               "CREATE TABLE bars (source TEXT NOT NULL, symbol TEXT NOT NULL, timeframe TEXT NOT NULL,"
               " ts INTEGER NOT NULL, open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL,"
               " close REAL NOT NULL, volume REAL NOT NULL,"
               " PRIMARY KEY (source, symbol, timeframe, ts)) WITHOUT ROWID;",
               nullptr, nullptr, nullptr);
  auto t0 = Clock::now();
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO bars VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", -1, &stmt, nullptr);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  for (std::size_t i = 0; i < bars.size(); ++i) {
    sqlite3_bind_text(stmt, 1, "binance", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, "BTCUSDT", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, "1m", -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, bars.ts[i]);
    sqlite3_bind_double(stmt, 5, bars.open[i]);
    sqlite3_bind_double(stmt, 6, bars.high[i]);
    sqlite3_bind_double(stmt, 7, bars.low[i]);
    sqlite3_bind_double(stmt, 8, bars.close[i]);
    sqlite3_bind_double(stmt, 9, bars.volume[i]);
    sqlite3_step(stmt);
    sqlite3_reset(stmt);
  }
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  double s = seconds_since(t0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 300'000;
  // The exchange's pages are rendered before timing: its JSON printing is
  // not our cost. Pages are keyed by startTime, as BinanceSource asks.
  std::map<int64_t, std::string> pages;
  for (int64_t t = kStart; t < kStart + n * 60; t += 1000 * 60) {
    pages[t * 1000] = klines(t * 1000, (kStart + n * 60) * 1000 - 1, 1000);
  }
  httplib::Server server;
  server.Get("/api/v3/klines", [&pages](const httplib::Request& req, httplib::Response& res) {
    auto page = pages.find(std::stoll(req.get_param_value("startTime")));
    res.set_header("X-MBX-USED-WEIGHT-1M", "2");
    // Binance's own content type (cpp-httplib leaves it uncompressed).
    res.set_content(page == pages.end() ? std::string("[]") : page->second,
                    "application/json;charset=UTF-8");
  });
  // Like production servers, no Nagle delay between headers and body
  // (accepted sockets inherit TCP_NODELAY from the listening socket).
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  auto dir = std::filesystem::temp_directory_path() / ("nightshift-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  config::FetcherConfig config;
  config.binance_base_url = "http://127.0.0.1:" + std::to_string(port);
  config.binance = {1e6, 1'000'000, 0, 10, 10, 10'000, 3, 60};  // unthrottled: measure the pipeline
  config.binance_weight_budget_1m = 1'000'000'000;
  fetcher::BinanceSource source(config, nullptr);
  auto cache = fetcher::MarketCache::open((dir / "market.db").string());
  if (!cache) {
    std::fprintf(stderr, "%s\n", cache.error().c_str());
    return 1;
  }

  fetcher::SeriesKey key{"binance", "BTCUSDT", "1m"};
  fetcher::FetchLogEntry log{kStart, kStart + n * 60, 0, "ok", "", {}};
  auto t0 = Clock::now();
  auto ingested = fetcher::ingest_range(source, *cache, key, log, 60);
  double ingest_s = seconds_since(t0);
  if (!ingested) {
    std::fprintf(stderr, "%s\n", ingested.error().c_str());
    return 1;
  }
  // The peer inserts exactly the rows we stored, read back from the cache.
  auto bars = cache->read(key, kStart, kStart + n * 60);
  if (!bars || bars->size() != ingested->rows_stored) {
    std::fprintf(stderr, "cache holds %zu rows, ingest reported %llu\n", bars ? bars->size() : 0,
                 static_cast<unsigned long long>(ingested->rows_stored));
    return 1;
  }
  double raw_s = raw_insert_s((dir / "raw.db").string(), *bars);

  const auto& st = ingested->stats;
  double ours = static_cast<double>(bars->size()) / ingest_s;
  double raw = static_cast<double>(bars->size()) / raw_s;
  std::printf("bars                 %zu (%llu HTTP pages)\n", bars->size(),
              static_cast<unsigned long long>(source.requests_sent()));
  std::printf("nightshift ingest    %.0f bars/s  (%.3f s)\n", ours, ingest_s);
  std::printf("  fetching thread    source (HTTP+parse) %.3f s, validate %.3f s, queue full %.3f s\n",
              st.source_s, st.validate_s, st.blocked_s);
  std::printf("  writer thread      store %.3f s (overlapped); after last page %.3f s, commit %.3f s\n",
              st.store_s, st.drain_s, st.commit_s);
  std::printf("raw sqlite3 insert   %.0f bars/s  (%.3f s)\n", raw, raw_s);
  std::printf("ratio                %.2f (target >= 0.50)\n", ours / raw);
  server.stop();
  thread.join();
  std::filesystem::remove_all(dir);
  return 0;
}
