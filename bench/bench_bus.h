// The bus the bus-level benches run on: loopback TCP endpoints from
// base_port up (events, jobs, results, control: seven ports), and no
// high-water marks, so they measure throughput, not drops.
#pragma once

#include <string>

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

}  // namespace nightshift::bench
