// The client side of the broker's control endpoint (bus.control): ask a
// running broker for its counters, or whether one is up at all. Every stage
// that connects asks first, so a stage pointed at a broker that is not there
// says so in one line instead of waiting forever; and a stage of a supervised
// run (one with an instance token, base/run_instance.h) refuses a broker
// that belongs to another run.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <string>

#include "config/config.h"
#include "schema/result.h"

namespace nightshift::bus {

// How long a stage started on its own waits for the broker to answer.
inline constexpr std::chrono::seconds kStageBrokerWait{5};

// Asks the broker's control endpoint `command` ("stats": its counters,
// "ping": its instance token and pid; JSON text); an error (kind
// unavailable) naming the endpoint if nothing answers within `timeout`.
// Never blocks longer than `timeout` (plus at most 100 ms), whatever the
// endpoint is.
Result<std::string> ask_broker(zmq::context_t& context, const config::BusConfig& bus,
                               std::chrono::milliseconds timeout,
                               const std::string& command = "stats");

// The same request/reply exchange with any control endpoint that answers
// the REQ way (a ROUTER reading [envelope][empty][command]): the replay
// stage's, for `nightshift replay-ctl`. The error names `endpoint`.
Result<std::string> ask_endpoint(zmq::context_t& context, const std::string& endpoint,
                                 const config::BusConfig& bus, std::chrono::milliseconds timeout,
                                 const std::string& command);

// Is a broker up at bus.control, and is it this run's? With an instance
// token (NIGHTSHIFT_INSTANCE) set, a broker answering with another token is
// an error of kind busy naming both; without one, any broker will do.
Status probe_broker(zmq::context_t& context, const config::BusConfig& bus,
                    std::chrono::milliseconds timeout);

// probe_broker for stages that do not need a broker to start (telemetry,
// fetcher): only when this process has an instance token; else success.
Status check_broker_instance(zmq::context_t& context, const config::BusConfig& bus,
                             std::chrono::milliseconds timeout);

}  // namespace nightshift::bus
