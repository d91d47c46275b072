// bench/curve_cost: what CURVE costs on the bus. The same broker (a separate
// process) is measured twice in one run, CURVE off and on (key pairs made
// here, the client key authorized in a temporary folder, so the broker's ZAP
// handler runs as in production): events msgs/s (PUB -> broker -> SUB) and
// jobs/s through the jobs pipeline (PUSH -> broker -> DEALER, job-sized
// messages; the DEALER keeps up to 64 jobs of credit announced, as a host's
// workers together would, broker/job_credit.h). Prints both and the on/off ratios; target >= 0.8 for jobs/s.
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "broker/broker.h"
#include "broker/bus.h"
#include "broker/job_credit.h"
#include "broker/socket_options.h"
#include "bench/bench_bus.h"

namespace {

using namespace nightshift;
using Clock = std::chrono::steady_clock;
using bench::bench_bus;

// One key pair, server and client alike (the ZAP handler admits it from `dir`).
void enable_curve(config::BusConfig& bus, const std::string& dir) {
  char pub[41], sec[41];
  zmq_curve_keypair(pub, sec);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/bench.key") << "public-key = \"" << pub << "\"\n";
  bus.curve.enabled = true;
  bus.curve.public_key = pub;
  bus.curve.secret_key = sec;
  bus.curve.server_key = pub;
  bus.curve.authorized_keys_dir = dir;
}

// Sends `count` messages of `size` bytes from `out` to `in`; messages/s.
// `credit`: `in` is a jobs DEALER that announces its credit (received, 64)
// at the start and after every 16 messages.
double stream(zmq::socket_t& out, zmq::socket_t& in, uint64_t count, std::size_t size,
              bool pubsub, bool credit) {
  std::string body(size, 'j');
  if (pubsub) {
    in.set(zmq::sockopt::subscribe, "");
    // Wait until the subscription has reached the publisher through the broker.
    for (;;) {
      bus::send_raw(out, "warmup", body);
      zmq::pollitem_t item{in.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, std::chrono::milliseconds(50)) > 0) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    zmq::message_t drain;
    while (in.recv(drain, zmq::recv_flags::dontwait)) {
    }
  }
  uint64_t seen = 0;
  Clock::time_point end;
  std::thread receiver([&] {
    auto announce = [&] {
      if (credit) (void)in.send(zmq::buffer(bus::encode_job_credit({seen, 64})), zmq::send_flags::none);
    };
    announce();
    zmq::message_t part;
    while (seen < count) {
      zmq::pollitem_t item{in.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, std::chrono::milliseconds(2000)) == 0) break;
      (void)in.recv(part);
      if (!part.more() && ++seen % 16 == 0) announce();
    }
    end = Clock::now();
  });
  auto start = Clock::now();
  for (uint64_t i = 0; i < count; ++i) {
    while (!bus::send_raw(out, "job", body)) {
    }
  }
  receiver.join();
  double seconds = std::chrono::duration<double>(end - start).count();
  return seen == count ? static_cast<double>(count) / seconds : 0.0;
}

struct Rates {
  double events = 0;
  double jobs = 0;
};

Rates measure(config::BusConfig bus, uint64_t events, uint64_t jobs) {
  pid_t broker_pid = bench::fork_broker(bus);
  Rates rates;
  {
    zmq::context_t context(1);
    auto pub = bus::connect_socket(context, zmq::socket_type::pub, bus.events_in, bus);
    auto sub = bus::connect_socket(context, zmq::socket_type::sub, bus.events_out, bus);
    auto push = bus::connect_socket(context, zmq::socket_type::push, bus.jobs_in, bus);
    auto dealer = bus::connect_socket(context, zmq::socket_type::dealer, bus.jobs_out, bus);
    if (pub && sub && push && dealer) {
      rates.events = stream(*pub, *sub, events, 200, true, false);
      rates.jobs = stream(*push, *dealer, jobs, 600, false, true);
    }
  }
  kill(broker_pid, SIGTERM);
  int status = 0;
  waitpid(broker_pid, &status, 0);
  return rates;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 300'000;
  uint64_t jobs = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100'000;
  std::string keys = std::filesystem::temp_directory_path() /
                     ("curve_cost_" + std::to_string(getpid()));
  int port = 20000 + static_cast<int>(getpid() % 20000);
  Rates off = measure(bench_bus(port), events, jobs);
  config::BusConfig secured = bench_bus(port + 10);
  enable_curve(secured, keys);
  Rates on = measure(secured, events, jobs);
  std::filesystem::remove_all(keys);
  std::printf("curve_cost: %llu events (200 B), %llu jobs (600 B) through a broker process\n",
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(jobs));
  std::printf("%-12s %12.0f events/s %12.0f jobs/s\n", "CURVE off", off.events, off.jobs);
  std::printf("%-12s %12.0f events/s %12.0f jobs/s\n", "CURVE on", on.events, on.jobs);
  double events_ratio = off.events > 0 ? on.events / off.events : 0;
  double jobs_ratio = off.jobs > 0 ? on.jobs / off.jobs : 0;
  std::printf("ratio on/off: events %.3f, jobs %.3f (target >= 0.8 for jobs/s) %s\n", events_ratio,
              jobs_ratio, jobs_ratio >= 0.8 ? "PASS" : "FAIL");
  return jobs_ratio >= 0.8 ? 0 : 1;
}
