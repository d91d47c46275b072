// The dataset service with real processes: `nightshift fetcher` serving, and
// `nightshift fetch --via-service` processes acting as workers.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <iostream>
#include <thread>
#include <regex>
#include <sstream>
#include <thread>

#include "broker/dataset_client.h"
#include "broker/dataset_protocol.h"
#include "broker/socket_options.h"
#include "schema/codec.h"
#include "base/process.h"
#include "tests/support/child_process.h"

namespace nightshift {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;

struct Line {
  std::string status;
  uint64_t rows = 0;
  uint64_t bytes = 0;
  std::string fingerprint;
  std::string synthetic;
};

std::vector<Line> parse_lines(const std::string& text) {
  std::vector<Line> out;
  std::regex re(R"(status=(\w+) rows=(\d+) bytes=(\d+) synthetic=(\w+) fingerprint=(\w+))");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, re)) {
      out.push_back({m[1], std::stoull(m[2]), std::stoull(m[3]), m[5], m[4]});
    }
  }
  return out;
}

class DatasetServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_ = testing::make_test_bus("fetcher:\n  dataset_timeout_ms: 20000\n  synthetic_signal: 0.1\n");
    fetcher_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        testing::nightshift_binary(), "--config", bus_.config_path, "fetcher"});
    ASSERT_TRUE(fetcher_->wait_for_output("fetcher up", 10s)) << fetcher_->stderr_text();
  }

  std::vector<std::string> worker_args(const std::string& tf, const std::string& from,
                                       const std::string& to, int repeat) {
    return {testing::nightshift_binary(), "--config", bus_.config_path, "fetch", "BTCUSDT",
            "--tf", tf, "--from", from, "--to", to, "--via-service", "--repeat",
            std::to_string(repeat), "-q"};
  }

  testing::TestBus bus_;
  std::unique_ptr<ChildProcess> fetcher_;
};

TEST_F(DatasetServiceTest, TwoWorkersGetTheSameDatasetOnceEach) {
  std::vector<Line> all;
  for (int worker = 0; worker < 2; ++worker) {
    ChildProcess fetch(worker_args("1h", "2024-01-01", "2024-03-01", 2));
    ASSERT_EQ(fetch.wait(60s), 0) << fetch.stderr_text();
    auto lines = parse_lines(fetch.stdout_text());
    ASSERT_EQ(lines.size(), 2u) << fetch.stdout_text();
    EXPECT_EQ(lines[0].status, "ok");
    EXPECT_EQ(lines[0].rows, 60u * 24u);  // Jan + Feb 2024, hourly
    EXPECT_GT(lines[0].bytes, 60u * 24u * 40u);
    // The second request of the same worker transfers no bars.
    EXPECT_EQ(lines[1].status, "unchanged");
    EXPECT_EQ(lines[1].rows, lines[0].rows);
    EXPECT_LT(lines[1].bytes, 1000u);
    EXPECT_EQ(lines[0].synthetic, "yes");
    all.insert(all.end(), lines.begin(), lines.end());
  }
  for (const auto& line : all) EXPECT_EQ(line.fingerprint, all[0].fingerprint);
  EXPECT_EQ(fetcher_->stop(), 0) << fetcher_->stderr_text();
}

// The scheduler's result cache asks only for the fingerprint: the same one
// the bars come with, and no bars on the wire.
TEST_F(DatasetServiceTest, AFingerprintOnlyRequestGetsTheFingerprintWithoutBars) {
  zmq::context_t context(1);
  DatasetClient client(context, bus_.config, {"test", "scheduler", 1});
  DatasetRequest request;
  request.source = "synthetic";
  request.symbol = "BTCUSDT";
  request.timeframe = "1h";
  request.start_ts = 1704067200;  // 2024-01-01
  request.end_ts = 1709251200;    // 2024-03-01
  auto fingerprint = client.fingerprint(request);
  ASSERT_TRUE(fingerprint.ok()) << fingerprint.error();
  EXPECT_LT(client.stats().bytes_received, 1000u) << "fingerprint_only must not carry bars";
  auto dataset = client.request(request);
  ASSERT_TRUE(dataset.ok()) << dataset.error();
  EXPECT_EQ(*fingerprint, dataset->fingerprint);
  request.symbol = "ETHUSDT";
  auto other = client.fingerprint(request);
  ASSERT_TRUE(other.ok()) << other.error();
  EXPECT_NE(*other, *fingerprint);
  request.symbol = "../etc";
  auto bad = client.fingerprint(request);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("not a market symbol"), std::string::npos) << bad.error();
  EXPECT_EQ(fetcher_->stop(), 0) << fetcher_->stderr_text();
}

// fetcher.host_cache_dir (issue 18): the workers of one host share what one
// of them received, so a second process on the host gets "unchanged" at its
// first request, and a dataset crosses the network once per host.
TEST(DatasetHostCache, ASecondProcessOnTheHostReceivesNoBars) {
  std::string cache = testing::make_temp_dir("nightshift-host-cache") + "/datasets";
  auto bus = testing::make_test_bus("fetcher:\n  dataset_timeout_ms: 20000\n  host_cache_dir: " +
                                    cache + "\n");
  ChildProcess fetcher({testing::nightshift_binary(), "--config", bus.config_path, "fetcher"});
  ASSERT_TRUE(fetcher.wait_for_output("fetcher up", 10s)) << fetcher.stderr_text();
  std::vector<Line> firsts;
  for (int worker = 0; worker < 2; ++worker) {
    ChildProcess fetch({testing::nightshift_binary(), "--config", bus.config_path, "fetch",
                        "BTCUSDT", "--tf", "1h", "--from", "2024-01-01", "--to", "2024-03-01",
                        "--via-service", "-q"});
    ASSERT_EQ(fetch.wait(60s), 0) << fetch.stderr_text();
    auto lines = parse_lines(fetch.stdout_text());
    ASSERT_EQ(lines.size(), 1u) << fetch.stdout_text();
    firsts.push_back(lines[0]);
  }
  EXPECT_EQ(firsts[0].status, "ok");
  EXPECT_GT(firsts[0].bytes, 60u * 24u * 40u);
  EXPECT_EQ(firsts[1].status, "unchanged");  // from the host cache, current per the service
  EXPECT_EQ(firsts[1].rows, firsts[0].rows);
  EXPECT_LT(firsts[1].bytes, 1000u);
  EXPECT_EQ(firsts[1].fingerprint, firsts[0].fingerprint);
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(cache)) {
    files += entry.path().extension() == ".dataset";
  }
  EXPECT_EQ(files, 1u);
  EXPECT_EQ(fetcher.stop(), 0) << fetcher.stderr_text();
}

TEST_F(DatasetServiceTest, AYearOfMinuteBarsCrossesInParts) {
  ChildProcess fetch(worker_args("1m", "2024-01-01", "2025-01-01", 1));
  ASSERT_EQ(fetch.wait(120s), 0) << fetch.stderr_text();
  auto lines = parse_lines(fetch.stdout_text());
  ASSERT_EQ(lines.size(), 1u) << fetch.stdout_text();
  EXPECT_EQ(lines[0].rows, 366u * 1440u);
  EXPECT_GT(lines[0].bytes, uint64_t{16} << 20);  // more than one frame cap
  EXPECT_EQ(fetcher_->stop(), 0);
}

TEST_F(DatasetServiceTest, MalformedRequestsGetAnErrorAndTheServiceLivesOn) {
  zmq::context_t context(1);
  // Frames without the REQ envelope (a REP socket could be wedged by these):
  // dropped, counted, no reply.
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.connect(bus_.config.fetcher.dataset_endpoint);
  std::this_thread::sleep_for(100ms);
  (void)dealer.send(zmq::str_buffer("dataset.request"), zmq::send_flags::sndmore);
  (void)dealer.send(zmq::str_buffer("\x93garbage"), zmq::send_flags::none);
  for (int i = 0; i < 100; ++i) (void)dealer.send(zmq::str_buffer("x"), zmq::send_flags::sndmore);
  (void)dealer.send(zmq::str_buffer("x"), zmq::send_flags::none);
  zmq::pollitem_t nothing{dealer.handle(), 0, ZMQ_POLLIN, 0};
  EXPECT_EQ(zmq::poll(&nothing, 1, 300ms), 0) << "a message without an envelope got a reply";

  auto socket = bus::connect_socket(context, zmq::socket_type::req,
                                    bus_.config.fetcher.dataset_endpoint, bus_.config.bus);
  ASSERT_TRUE(socket.ok());
  ASSERT_TRUE(dataset::send_parts(*socket, "dataset.request", {"\xc1garbage"}, 5s));
  auto parts = dataset::receive_parts(*socket, 10s);
  ASSERT_TRUE(parts.has_value());
  auto reply = dataset::decode_reply({parts->begin() + 1, parts->end()}, {});
  ASSERT_TRUE(reply.ok()) << reply.error();
  EXPECT_EQ(reply->status, "error");
  EXPECT_NE(reply->error.find("malformed"), std::string::npos) << reply->error;

  DatasetClient client(context, bus_.config, {"test", "worker", 1});
  DatasetRequest bad{"synthetic", "BTCUSDT", "7q", 0, 0, std::nullopt};
  auto answer = client.request(bad);
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.error().find("unknown timeframe '7q'"), std::string::npos) << answer.error();
  DatasetRequest good{"synthetic", "ETHUSDT", "1d", 1'704'067'200, 1'706'745'600, std::nullopt};
  auto dataset = client.request(good);
  ASSERT_TRUE(dataset.ok()) << dataset.error();
  EXPECT_EQ((*dataset).bars->size(), 31u);
  EXPECT_EQ(fetcher_->stop(), 0);
  EXPECT_NE(fetcher_->stderr_text().find("dropped a dataset request of 2 frames"),
            std::string::npos)
      << fetcher_->stderr_text();
  EXPECT_NE(fetcher_->stderr_text().find("2 dropped"), std::string::npos)
      << fetcher_->stderr_text();
}

// The pool (fetcher.dataset_threads): a slow, large request -- a cold fetch
// of a year of minute bars, then ~30 MB of reply -- and many small cached
// ones arrive at once; every small one is answered while the large one is
// still in flight. A service answering one request at a time answers them
// all after it, so this fails there. The property is an ordering of
// completions, not a time limit.
TEST(DatasetPool, SmallRequestsAreNotQueuedBehindALargeOne) {
  auto bus = testing::make_test_bus(
      "fetcher:\n  dataset_timeout_ms: 60000\n  dataset_threads: 4\n");
  ChildProcess fetcher({testing::nightshift_binary(), "--config", bus.config_path, "fetcher"});
  ASSERT_TRUE(fetcher.wait_for_output("fetcher up", 10s)) << fetcher.stderr_text();
  EXPECT_NE(fetcher.stderr_text().find("(4 threads)"), std::string::npos) << fetcher.stderr_text();
  zmq::context_t context(1);
  const DatasetRequest small{"synthetic", "ETHUSDT", "1d", 1'704'067'200, 1'706'745'600,
                             std::nullopt};
  {
    DatasetClient warm(context, bus.config, {"test", "warm", 1});
    ASSERT_TRUE(warm.request(small).ok());  // cached from now on
  }
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  // The large request on a bare REQ socket: its time is when the whole reply
  // has arrived, before the client decodes it (a small reply can otherwise
  // slip in while ~30 MB are decoded, even from a service of one thread).
  auto large = std::async(std::launch::async, [&] {
    auto socket = bus::connect_socket(context, zmq::socket_type::req,
                                      bus.config.fetcher.dataset_endpoint, bus.config.bus);
    DatasetRequest year{"synthetic", "BTCUSDT", "1m", 1'704'067'200, 1'735'689'600, std::nullopt};
    Header header;
    header.src = {"test", "large", 1};
    std::size_t rows = 0;
    if (socket.ok() && dataset::send_parts(*socket, "dataset.request", {encode(header, year)}, 5s)) {
      auto parts = dataset::receive_parts(*socket, 60s);
      auto arrived = Clock::now();
      if (parts && parts->size() > 1) {
        auto reply = dataset::decode_reply({parts->begin() + 1, parts->end()}, {});
        if (reply.ok()) rows = reply->bars.size();
      }
      return std::make_pair(rows, arrived);
    }
    return std::make_pair(rows, Clock::now());
  });
  // When the service has fetched the year (it logs the data.ready notice
  // before it encodes the reply): a one-thread service takes no other
  // request before then.
  auto fetched = std::async(std::launch::async, [&] {
    bool seen = fetcher.wait_for_output("data.ready synthetic BTCUSDT 1m", 60s);
    return std::make_pair(seen, Clock::now());
  });
  std::this_thread::sleep_for(300ms);  // the large request reaches the service first
  constexpr int kClients = 8;
  constexpr int kEach = 5;
  std::vector<std::future<std::vector<Clock::time_point>>> smalls;
  for (int c = 0; c < kClients; ++c) {
    smalls.push_back(std::async(std::launch::async, [&, c] {
      DatasetClient client(context, bus.config, {"test", "small", c});
      std::vector<Clock::time_point> done;
      for (int i = 0; i < kEach; ++i) {
        auto answer = client.request(small);
        if (answer.ok() && answer->bars->size() == 31u) done.push_back(Clock::now());
      }
      return done;
    }));
  }
  std::vector<Clock::time_point> small_done;
  for (auto& f : smalls) {
    auto done = f.get();
    small_done.insert(small_done.end(), done.begin(), done.end());
  }
  auto [large_rows, large_done] = large.get();
  auto [seen, fetch_done] = fetched.get();
  ASSERT_TRUE(seen) << fetcher.stderr_text();
  ASSERT_EQ(large_rows, 366u * 1440u);
  ASSERT_EQ(small_done.size(), std::size_t{kClients * kEach});
  std::size_t during_fetch = 0;
  for (auto t : small_done) during_fetch += t < fetch_done;
  auto ms = [&](Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t - started).count();
  };
  std::sort(small_done.begin(), small_done.end());
  std::cout << "[ figures  ] " << small_done.size() << " small requests done by "
            << ms(small_done.back()) << " ms; the large one fetched at " << ms(fetch_done)
            << " ms, its " << large_rows << " rows arrived at " << ms(large_done) << " ms\n";
  EXPECT_EQ(during_fetch, small_done.size())
      << "small requests answered after the large one's fetch: they queued behind it";
  EXPECT_EQ(fetcher.stop(), 0) << fetcher.stderr_text();
  // The small ones never took the fetch lock: 2 fetches (warm-up, the year).
  EXPECT_NE(fetcher.stderr_text().find("2 fetched"), std::string::npos) << fetcher.stderr_text();
}

TEST(DatasetClient, TimesOutThenRecoversWithAFreshSocket) {
  auto bus = testing::make_test_bus("fetcher:\n  dataset_timeout_ms: 300\n  dataset_attempts: 2\n");
  zmq::context_t context(1);
  DatasetClient client(context, bus.config, {"test", "worker", 1});
  DatasetRequest request{"synthetic", "BTCUSDT", "1d", 1'704'067'200, 1'706'745'600, std::nullopt};
  auto lost = client.request(request);
  ASSERT_FALSE(lost.ok());
  EXPECT_NE(lost.error().find("did not answer: waited 0."), std::string::npos) << lost.error();
  EXPECT_NE(lost.error().find("(2 timed out after 300 ms, 0 lost connections)"), std::string::npos)
      << lost.error();
  EXPECT_EQ(client.stats().timeouts, 2u);

  ChildProcess fetcher({testing::nightshift_binary(), "--config", bus.config_path, "fetcher"});
  ASSERT_TRUE(fetcher.wait_for_output("fetcher up", 10s)) << fetcher.stderr_text();
  Result<Dataset> found = make_error("not tried");
  for (int i = 0; i < 10 && !found.ok(); ++i) found = client.request(request);
  ASSERT_TRUE(found.ok()) << found.error();
  EXPECT_EQ(found->bars->size(), 31u);
  EXPECT_EQ(fetcher.stop(), 0);
}

// The fetcher dies holding a request (stopped, then killed with -9, as a
// crash mid-request does) and comes back: the client notices the lost
// connection and asks the new process, instead of waiting out
// dataset_timeout_ms (20 s here) for a reply that can never come.
TEST(DatasetClient, ARestartedServiceIsAskedAgainWithoutWaitingForTheTimeout) {
  auto bus = testing::make_test_bus("fetcher:\n  dataset_timeout_ms: 20000\n");
  std::vector<std::string> fetcher_argv{testing::nightshift_binary(), "--config", bus.config_path,
                                        "fetcher"};
  auto first = std::make_unique<ChildProcess>(fetcher_argv);
  ASSERT_TRUE(first->wait_for_output("fetcher up", 10s)) << first->stderr_text();
  zmq::context_t context(1);
  DatasetClient client(context, bus.config, {"test", "worker", 1});
  DatasetRequest january{"synthetic", "BTCUSDT", "1d", 1'704'067'200, 1'706'745'600, std::nullopt};
  ASSERT_TRUE(client.request(january).ok());  // connected to the first process

  first->signal(SIGSTOP);  // the next request reaches it, and is never read
  DatasetRequest february{"synthetic", "BTCUSDT", "1d", 1'706'745'600, 1'709'251'200, std::nullopt};
  auto started = std::chrono::steady_clock::now();
  auto answer = std::async(std::launch::async, [&] { return client.request(february); });
  std::this_thread::sleep_for(500ms);
  first->signal(SIGKILL);
  first.reset();
  ChildProcess second(fetcher_argv);
  ASSERT_TRUE(second.wait_for_output("fetcher up", 10s)) << second.stderr_text();
  auto dataset = answer.get();
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(dataset.ok()) << dataset.error();
  EXPECT_EQ(dataset->bars->size(), 29u);
  EXPECT_EQ(client.stats().lost, 1u);
  EXPECT_EQ(client.stats().timeouts, 0u) << "waited out dataset_timeout_ms";
  std::cout << "[ figures  ] request across a fetcher kill -9 and restart answered in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms (dataset_timeout_ms 20000)\n";
  EXPECT_EQ(second.stop(), 0);
}

}  // namespace
}  // namespace nightshift
