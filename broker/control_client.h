// The client side of the broker's control endpoint (bus.control): ask a
// running broker for its counters, or whether one is up at all. Every stage
// that connects asks first, so a stage pointed at a broker that is not there
// says so in one line instead of waiting forever.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <string>

#include "config/config.h"
#include "schema/result.h"

namespace nightshift::bus {

// How long a stage started on its own waits for the broker to answer.
inline constexpr std::chrono::seconds kStageBrokerWait{5};

// Asks the broker's control endpoint for its stats (JSON text); an error
// (kind unavailable) naming the endpoint if nothing answers within `timeout`.
// Never blocks longer than `timeout` (plus at most 100 ms), whatever the
// endpoint is.
Result<std::string> ask_broker(zmq::context_t& context, const config::BusConfig& bus,
                               std::chrono::milliseconds timeout);

// ask_broker without the answer: is a broker up at bus.control?
Status probe_broker(zmq::context_t& context, const config::BusConfig& bus,
                    std::chrono::milliseconds timeout);

}  // namespace nightshift::bus
