#include "broker/socket_options.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/private_dir.h"

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
    if (bus.curve.enabled) {
      socket.set(zmq::sockopt::curve_serverkey, bus.curve.server_key);
      socket.set(zmq::sockopt::curve_publickey, bus.curve.public_key);
      socket.set(zmq::sockopt::curve_secretkey, bus.curve.secret_key);
    }
    socket.connect(endpoint);
    return socket;
  } catch (const zmq::error_t& e) {
    return make_error("cannot connect to " + endpoint + ": " + e.what());
  }
}

namespace {

constexpr std::string_view kIpc = "ipc://";

// Whether something accepts connections at the Unix socket `path` now.
bool unix_socket_listening(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  bool listening = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return listening;
}

// Before binding ipc://PATH: PATH fits a Unix socket address, its folder
// exists and is private (0700), and no one listens there. ZeroMQ itself
// unlinks whatever file is at PATH and binds, so without the last check a
// second broker would silently take over the first one's endpoints.
Status prepare_ipc_endpoint(const std::string& endpoint) {
  std::string path = endpoint.substr(kIpc.size());
  if (path.empty() || path[0] == '@') return Status::success();  // abstract: no file, no folder
  if (path.size() > max_ipc_path_bytes()) {
    return make_error(ErrorKind::invalid_input,
                      "cannot bind " + endpoint + ": the path is " + std::to_string(path.size()) +
                          " bytes, longer than an ipc socket allows (" +
                          std::to_string(max_ipc_path_bytes()) + ")");
  }
  auto folder = std::filesystem::path(path).parent_path();
  if (!folder.empty()) {
    if (std::string why = make_private_dir(folder.string()); !why.empty()) {
      return make_error(ErrorKind::unavailable, "cannot bind " + endpoint + ": " + why);
    }
  }
  if (unix_socket_listening(path)) {
    return make_error(ErrorKind::busy, "cannot bind " + endpoint + ": Address already in use");
  }
  return Status::success();
}

}  // namespace

Result<zmq::socket_t> bind_socket(zmq::context_t& context, zmq::socket_type type,
                                  const std::string& endpoint, const config::BusConfig& bus,
                                  const std::string& name) {
  if (endpoint.rfind(kIpc, 0) == 0) {
    if (Status ready = prepare_ipc_endpoint(endpoint); !ready) return ready.take_error();
  }
  try {
    zmq::socket_t socket(context, type);
    apply_options(socket, bus);
    if (bus.curve.enabled) {
      socket.set(zmq::sockopt::curve_server, true);
      socket.set(zmq::sockopt::curve_secretkey, bus.curve.secret_key);
      socket.set(zmq::sockopt::zap_domain, name);
    }
    socket.bind(endpoint);
    return socket;
  } catch (const zmq::error_t& e) {
    return make_error("cannot bind " + endpoint + ": " + e.what());
  }
}

}  // namespace nightshift::bus
