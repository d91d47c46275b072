#include "broker/socket_options.h"

namespace nightshift::bus {

void apply_options(zmq::socket_t& socket, const config::BusConfig& bus) {
  socket.set(zmq::sockopt::linger, bus.linger_ms);
  socket.set(zmq::sockopt::maxmsgsize, bus.max_message_bytes);
  // A PUB drops at its mark, a PUSH waits: pub/sub gets room for bursts, the
  // pipelines a bounded queue. A flood of results queued 100000 deep grew
  // the heap by tens of MB, and the page faults cost more than the messages;
  // 1000 per hop still carry the workers through a persister restart.
  const int type = socket.get(zmq::sockopt::type);
  const bool pipeline = type == ZMQ_PUSH || type == ZMQ_PULL;
  socket.set(zmq::sockopt::sndhwm, pipeline ? bus.pipeline_hwm : bus.send_hwm);
  socket.set(zmq::sockopt::rcvhwm, pipeline ? bus.pipeline_hwm : bus.recv_hwm);
  socket.set(zmq::sockopt::heartbeat_ivl, bus.heartbeat_ivl_ms);
  socket.set(zmq::sockopt::heartbeat_timeout, bus.heartbeat_timeout_ms);
  socket.set(zmq::sockopt::heartbeat_ttl, bus.heartbeat_ttl_ms);
  socket.set(zmq::sockopt::reconnect_ivl, 100);
  socket.set(zmq::sockopt::reconnect_ivl_max, 2000);
}

Result<zmq::socket_t> connect_socket(zmq::context_t& context, zmq::socket_type type,
                                     const std::string& endpoint,
                                     const config::BusConfig& bus) {
  try {
    zmq::socket_t socket(context, type);
    apply_options(socket, bus);
    // Queue only to connected peers: a message for a peer that is down stays
    // with us (pipelines) or is dropped (pub/sub) instead of piling up.
    socket.set(zmq::sockopt::immediate, true);
    socket.connect(endpoint);
    return socket;
  } catch (const zmq::error_t& e) {
    return make_error("cannot connect to " + endpoint + ": " + e.what());
  }
}

Result<zmq::socket_t> bind_socket(zmq::context_t& context, zmq::socket_type type,
                                  const std::string& endpoint, const config::BusConfig& bus) {
  try {
    zmq::socket_t socket(context, type);
    apply_options(socket, bus);
    socket.bind(endpoint);
    return socket;
  } catch (const zmq::error_t& e) {
    return make_error("cannot bind " + endpoint + ": " + e.what());
  }
}

}  // namespace nightshift::bus
