#include "broker/control_client.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/process.h"
#include "broker/socket_options.h"

namespace nightshift::bus {

Result<std::string> ask_broker(zmq::context_t& context, const config::BusConfig& bus,
                               std::chrono::milliseconds timeout) {
  using namespace std::chrono;
  auto deadline = steady_clock::now() + timeout;
  // Each wait is cut to what is left of `timeout` (at least 100 ms).
  auto left = [&](milliseconds most) {
    auto rest = duration_cast<milliseconds>(deadline - steady_clock::now());
    return std::clamp(rest, milliseconds(100), most);
  };
  while (true) {
    auto socket = connect_socket(context, zmq::socket_type::req, bus.control, bus);
    if (!socket) return socket.take_error();
    try {
      // Sockets are "immediate": wait until the connection is up before
      // sending, since a blocking send to nobody would wait forever.
      zmq::pollitem_t out{socket->handle(), 0, ZMQ_POLLOUT, 0};
      if (zmq::poll(&out, 1, left(milliseconds(500))) > 0 &&
          socket->send(zmq::str_buffer("stats"), zmq::send_flags::dontwait)) {
        zmq::pollitem_t in{socket->handle(), 0, ZMQ_POLLIN, 0};
        zmq::message_t reply;
        if (zmq::poll(&in, 1, left(milliseconds(1000))) > 0 &&
            socket->recv(reply, zmq::recv_flags::dontwait)) {
          return reply.to_string();
        }
      }
    } catch (const zmq::error_t&) {
      // interrupted or not connected yet: try again until the deadline
    }
    if (steady_clock::now() >= deadline || stop_requested()) break;
  }
  return make_error(ErrorKind::unavailable,
                    "broker unreachable: nothing answered on " + bus.control + " within " +
                        fmt::format("{:g}", duration<double>(timeout).count()) + " s");
}

Status probe_broker(zmq::context_t& context, const config::BusConfig& bus,
                    std::chrono::milliseconds timeout) {
  auto stats = ask_broker(context, bus, timeout);
  if (!stats) return stats.take_error();
  return Status::success();
}

}  // namespace nightshift::bus
