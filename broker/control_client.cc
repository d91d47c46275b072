#include "broker/control_client.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "base/log.h"
#include "base/process.h"
#include "base/run_instance.h"
#include "broker/socket_options.h"

namespace nightshift::bus {

Result<std::string> ask_broker(zmq::context_t& context, const config::BusConfig& bus,
                               std::chrono::milliseconds timeout, const std::string& command) {
  auto reply = ask_endpoint(context, bus.control, bus, timeout, command);
  if (!reply && reply.error_kind() == ErrorKind::unavailable) {
    return make_error(ErrorKind::unavailable, "broker unreachable: " + reply.error());
  }
  return reply;
}

Result<std::string> ask_endpoint(zmq::context_t& context, const std::string& endpoint,
                                 const config::BusConfig& bus, std::chrono::milliseconds timeout,
                                 const std::string& command) {
  using namespace std::chrono;
  auto deadline = steady_clock::now() + timeout;
  // Each wait is cut to what is left of `timeout` (at least 100 ms).
  auto left = [&](milliseconds most) {
    auto rest = duration_cast<milliseconds>(deadline - steady_clock::now());
    return std::clamp(rest, milliseconds(100), most);
  };
  while (true) {
    auto socket = connect_socket(context, zmq::socket_type::req, endpoint, bus);
    if (!socket) return socket.take_error();
    try {
      // Sockets are "immediate": wait until the connection is up before
      // sending, since a blocking send to nobody would wait forever.
      zmq::pollitem_t out{socket->handle(), 0, ZMQ_POLLOUT, 0};
      if (zmq::poll(&out, 1, left(milliseconds(500))) > 0 &&
          socket->send(zmq::buffer(command), zmq::send_flags::dontwait)) {
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
                    "nothing answered on " + endpoint + " within " +
                        fmt::format("{:g}", duration<double>(timeout).count()) + " s");
}

Status probe_broker(zmq::context_t& context, const config::BusConfig& bus,
                    std::chrono::milliseconds timeout) {
  auto pong = ask_broker(context, bus, timeout, "ping");
  if (!pong) return pong.take_error();
  const std::string ours = run_instance();
  if (ours.empty()) return Status::success();
  auto reply = nlohmann::json::parse(*pong, nullptr, /*allow_exceptions=*/false);
  std::string theirs;
  if (reply.is_object() && reply.contains("instance") && reply["instance"].is_string()) {
    theirs = loggable(reply["instance"].get<std::string>().substr(0, 64));  // from the wire
  }
  if (theirs == ours) return Status::success();
  std::string pid = reply.is_object() && reply.contains("pid") ? reply["pid"].dump() : "?";
  return make_error(ErrorKind::busy,
                    "the broker at " + bus.control + " (pid " + pid + ") belongs to " +
                        (theirs.empty() ? std::string("no supervised run")
                                        : "another nightshift run (instance " + theirs + ")") +
                        ", not to this one (instance " + ours + "); refusing to use it");
}

Status check_broker_instance(zmq::context_t& context, const config::BusConfig& bus,
                             std::chrono::milliseconds timeout) {
  if (run_instance().empty()) return Status::success();
  return probe_broker(context, bus, timeout);
}

}  // namespace nightshift::bus
