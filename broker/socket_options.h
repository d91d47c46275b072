// The one place bus sockets are created. Every option that matters for a
// long night is set explicitly: linger (no hang at exit), immediate (no
// queueing to peers that are not there), ZMTP heartbeats (dead peers are
// noticed), maxmsgsize (a peer cannot make us allocate without bound),
// high-water marks and reconnect intervals.
#pragma once

#include <zmq.hpp>

#include <string>

#include "config/config.h"
#include "schema/result.h"

namespace nightshift::bus {

// Sets the common options on any bus socket.
void apply_options(zmq::socket_t& socket, const config::BusConfig& bus);

// Creates a socket with the common options and connects it. Connecting never
// fails because the peer is absent: ZeroMQ reconnects in the background.
// With bus.curve.enabled it is a CURVE client with this process's key pair
// that expects the binder to hold bus.curve.server_key.
Result<zmq::socket_t> connect_socket(zmq::context_t& context, zmq::socket_type type,
                                     const std::string& endpoint,
                                     const config::BusConfig& bus);

// Creates a socket with the common options and binds it (broker and services).
// With bus.curve.enabled it is a CURVE server whose ZAP domain is `name`
// (events_in, jobs_out, control, dataset, …): the binder's ZapHandler
// (broker/zap_handler.h) must be running in `context`, or libzmq would admit
// any key.
Result<zmq::socket_t> bind_socket(zmq::context_t& context, zmq::socket_type type,
                                  const std::string& endpoint, const config::BusConfig& bus,
                                  const std::string& name = "bus");

}  // namespace nightshift::bus
