// bench/bus_throughput: 1M small telemetry messages over loopback TCP, first
// PUB -> SUB directly, then PUB -> broker (a separate process) -> SUB, in one
// run. Prints msgs/s for both and the ratio (target: broker >= 0.5 x direct).
//
// Both paths encode every message with the real codec and decode every
// message with the real decoder, so the ratio isolates the broker hop.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "broker/broker.h"
#include "broker/bus.h"
#include "broker/socket_options.h"
#include "bench/bench_bus.h"
#include "schema/telemetry_messages.h"
#include "schema/topics.h"

namespace {

using namespace nightshift;
using Clock = std::chrono::steady_clock;
using bench::bench_bus;

struct Outcome {
  double seconds = 0;
  uint64_t received = 0;
  uint64_t malformed = 0;
};

GpuSample sample_message() {
  GpuSample s;
  s.host = "bench";
  s.index = 0;
  s.backend = "simulated";
  s.name = "Bench GPU";
  s.simulated = true;
  s.temp_c = 61.5;
  s.util_pct = 87;
  s.mem_used_bytes = 3'221'225'472;
  s.power_w = 180.5;
  return s;
}

// Sends `count` samples on `pub` and receives them on `sub` in another thread.
Outcome run(zmq::socket_t& pub, zmq::socket_t& sub, uint64_t count, DecodeLimits limits) {
  sub.set(zmq::sockopt::subscribe, "telemetry.");
  sub.set(zmq::sockopt::subscribe, "warmup");
  std::atomic<bool> warmed{false};
  std::atomic<bool> done{false};
  Outcome outcome;
  Clock::time_point end;
  std::thread receiver([&] {
    uint64_t seen = 0;
    zmq::message_t topic, body;
    while (seen < count) {
      zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, std::chrono::milliseconds(200)) == 0) {
        if (done.load() && warmed.load()) break;  // sender finished and nothing more arrives
        continue;
      }
      (void)sub.recv(topic);
      (void)sub.recv(body);
      if (topic.to_string_view() == "warmup") {
        warmed = true;
        continue;
      }
      auto frame = decode_frame(body.to_string_view(), limits);
      if (!frame) ++outcome.malformed;
      ++seen;
    }
    end = Clock::now();
    outcome.received = seen;
  });
  Header header;
  header.src = {"bench", "bench", getpid()};
  while (!warmed.load()) {
    bus::send_raw(pub, "warmup", encode(header, sample_message()));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // drain warm-up
  std::string topic = topics::telemetry_gpu("bench", 0);
  GpuSample s = sample_message();
  auto start = Clock::now();
  for (uint64_t i = 0; i < count; ++i) {
    header.seq = i + 1;
    header.ts_ns = static_cast<int64_t>(i);
    s.temp_c = 50.0 + static_cast<double>(i % 30);
    std::string body = encode(header, s);
    while (!bus::send_raw(pub, topic, body)) {
    }
  }
  done = true;
  receiver.join();
  outcome.seconds = std::chrono::duration<double>(end - start).count();
  return outcome;
}

void print(const char* name, const Outcome& o, uint64_t count) {
  std::printf("%-14s %9llu/%llu received  %7.3f s  %12.0f msgs/s  (malformed %llu)\n", name,
              static_cast<unsigned long long>(o.received), static_cast<unsigned long long>(count),
              o.seconds, static_cast<double>(o.received) / o.seconds,
              static_cast<unsigned long long>(o.malformed));
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  int base_port = 20000 + static_cast<int>(getpid() % 20000);
  config::BusConfig bus = bench_bus(base_port);
  DecodeLimits limits;

  // The broker is a separate process, started before any context exists here.
  pid_t broker_pid = bench::fork_broker(bus);

  zmq::context_t context(1);
  std::printf("bus_throughput: %llu GpuSample messages (~%zu bytes each) over loopback TCP\n",
              static_cast<unsigned long long>(count),
              encode(Header{}, sample_message()).size());

  Outcome direct;
  {
    std::string endpoint = "tcp://127.0.0.1:" + std::to_string(base_port + 10);
    auto pub = bus::bind_socket(context, zmq::socket_type::pub, endpoint, bus);
    auto sub = bus::connect_socket(context, zmq::socket_type::sub, endpoint, bus);
    if (!pub || !sub) return 1;
    direct = run(*pub, *sub, count, limits);
  }
  print("direct", direct, count);

  Outcome brokered;
  {
    auto pub = bus::connect_socket(context, zmq::socket_type::pub, bus.events_in, bus);
    auto sub = bus::connect_socket(context, zmq::socket_type::sub, bus.events_out, bus);
    if (!pub || !sub) return 1;
    brokered = run(*pub, *sub, count, limits);
  }
  print("via broker", brokered, count);

  kill(broker_pid, SIGTERM);
  int status = 0;
  waitpid(broker_pid, &status, 0);

  double ratio = (static_cast<double>(brokered.received) / brokered.seconds) /
                 (static_cast<double>(direct.received) / direct.seconds);
  std::printf("ratio (via broker / direct): %.3f  target >= 0.5  %s\n", ratio,
              ratio >= 0.5 ? "PASS" : "FAIL");
  bool complete = direct.received == count && brokered.received == count;
  if (!complete) std::printf("message loss: not every message arrived\n");
  return ratio >= 0.5 && complete ? 0 : 1;
}
