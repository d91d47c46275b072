// bench/dataset_service: requests/s of the fetcher's dataset service with
// one pool thread against N (default: the core count), many clients asking
// at once. The service runs in this process on an ipc endpoint in a
// temporary folder, over a market cache warmed first, so every request is
// a cache read: a year of 1h bars (8,784 rows of 2024, ~470 KB of reply), asked
// without a fingerprint so the whole dataset crosses each time.
//   bench_dataset_service [clients=16] [requests per client=20] [threads=cores]
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "base/process.h"
#include "broker/dataset_protocol.h"
#include "broker/socket_options.h"
#include "schema/codec.h"
#include "stages/fetcher/dataset_service.h"
#include "stages/fetcher/market_data.h"

namespace {

using namespace nightshift;
using Clock = std::chrono::steady_clock;

constexpr int64_t kJan1_2024 = 1'704'067'200;
constexpr int64_t kJan1_2025 = 1'735'689'600;

// One client: a REQ socket asking `count` times; replies that decode whole.
int ask(zmq::context_t& context, const config::Config& config, int count) {
  auto socket = bus::connect_socket(context, zmq::socket_type::req,
                                    config.fetcher.dataset_endpoint, config.bus);
  if (!socket) return 0;
  DatasetRequest year{"synthetic", "BTCUSDT", "1h", kJan1_2024, kJan1_2025, std::nullopt};
  Header header;
  header.src = {"bench", "client", getpid()};
  int answered = 0;
  for (int i = 0; i < count; ++i) {
    if (!dataset::send_parts(*socket, "dataset.request", {encode(header, year)},
                             std::chrono::seconds(5))) {
      break;
    }
    auto parts = dataset::receive_parts(*socket, std::chrono::seconds(60));
    if (!parts || parts->size() < 2) break;
    auto reply = dataset::decode_reply({parts->begin() + 1, parts->end()}, {});
    if (reply.ok() && reply->bars.size() == 8784u) {
      ++answered;
    } else {
      std::fprintf(stderr, "reply: %s\n",
                   reply.ok() ? (reply->status + " " + reply->error + " " +
                                 std::to_string(reply->bars.size())).c_str()
                              : reply.error().c_str());
      break;
    }
  }
  return answered;
}

double measure(config::Config config, int threads, int clients, int each) {
  config.fetcher.dataset_threads = threads;
  zmq::context_t context(1);
  auto market = fetcher::MarketData::open(config, {});
  if (!market) {
    std::fprintf(stderr, "%s\n", market.error().c_str());
    std::exit(2);
  }
  auto service = fetcher::DatasetService::bind(context, config, (*market)->store(), {});
  if (!service) {
    std::fprintf(stderr, "%s\n", service.error().c_str());
    std::exit(2);
  }
  std::atomic<bool> stop{false};
  std::thread front([&] {
    while (!stop) (*service)->serve_one(std::chrono::milliseconds(50));
  });
  ask(context, config, 1);  // warm: the one fetch, then cache reads only
  std::atomic<int> answered{0};
  std::vector<std::thread> askers;
  auto start = Clock::now();
  for (int c = 0; c < clients; ++c) {
    askers.emplace_back([&] { answered += ask(context, config, each); });
  }
  for (auto& t : askers) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  front.join();
  if (answered != clients * each) {
    std::fprintf(stderr, "only %d of %d requests answered\n", answered.load(), clients * each);
    std::exit(2);
  }
  return answered / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  const int clients = argc > 1 ? std::atoi(argv[1]) : 16;
  const int each = argc > 2 ? std::atoi(argv[2]) : 20;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const int pool = argc > 3 ? std::atoi(argv[3]) : std::max(2, cores);
  std::string dir = std::filesystem::temp_directory_path() /
                    ("bench_dataset_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  config::Config config;
  config.storage.market_db = dir + "/market.db";
  config.fetcher.dataset_endpoint = "ipc://" + dir + "/dataset";
  double one = measure(config, 1, clients, each);
  double many = measure(config, pool, clients, each);
  std::filesystem::remove_all(dir);
  std::printf("dataset_service: %d clients x %d requests of a year of 1h bars (8,784 rows), "
              "cached; %d cores\n", clients, each, cores);
  std::printf("%2d thread(s)  %8.1f requests/s\n", 1, one);
  std::printf("%2d thread(s)  %8.1f requests/s  (x%.2f)\n", pool, many, many / one);
  return 0;
}
