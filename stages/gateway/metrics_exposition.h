// GET /metrics: the gateway's view of the night in Prometheus text format,
// through prometheus-cpp's Registry and TextSerializer. Gauges are set from
// LiveState at each scrape; names in docs/gateway.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "stages/gateway/live_state.h"

namespace nightshift::gateway {

// The WebSocket side's counters (the server updates them).
struct StreamCounters {
  std::atomic<uint64_t> clients{0};
  std::atomic<uint64_t> dropped{0};   // closed for falling behind
  std::atomic<uint64_t> messages{0};  // queued to clients
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  // Sets every metric from `live` and returns the exposition text.
  std::string scrape(const LiveState& live, const StreamCounters& streams);

 private:
  struct Families;
  std::unique_ptr<Families> families_;
};

}  // namespace nightshift::gateway
