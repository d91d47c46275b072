// The bus the bus-level benches run on: loopback TCP endpoints from
// base_port up (events, jobs, results, control: seven ports), and no
// high-water marks, so they measure throughput, not drops.
#pragma once

#include <sys/types.h>
#include <unistd.h>
#include <zmq.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>

#include "broker/broker.h"

#include "config/config.h"

namespace nightshift::bench {

inline config::BusConfig bench_bus(int base_port) {
  config::BusConfig bus;
  auto at = [&](int offset) { return "tcp://127.0.0.1:" + std::to_string(base_port + offset); };
  bus.events_in = at(0);
  bus.events_out = at(1);
  bus.jobs_in = at(2);
  bus.jobs_out = at(3);
  bus.results_in = at(4);
  bus.results_out = at(5);
  bus.control = at(6);
  bus.send_hwm = 0;  // unlimited: measure throughput, not drops
  bus.recv_hwm = 0;
  return bus;
}

// Forks a broker process on `bus` (before any ZeroMQ context exists in the
// caller); it runs until SIGTERM. Returns its pid; the caller kills and
// reaps it.
inline pid_t fork_broker(const config::BusConfig& bus) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  zmq::context_t context(1);
  auto broker = bus::Broker::bind(context, bus);
  if (!broker) {
    std::fprintf(stderr, "broker: %s\n", broker.error().c_str());
    _exit(1);
  }
  static std::atomic<bool> stop{false};
  std::signal(SIGTERM, [](int) { stop = true; });
  (*broker)->run([] { return stop.load(); });
  _exit(0);
}

}  // namespace nightshift::bench
