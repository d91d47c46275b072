#include "broker/broker.h"

#include <spdlog/spdlog.h>
#include <zmq.h>

#include <cstring>

#include "broker/socket_options.h"
#include "base/process.h"

namespace nightshift::bus {

Result<std::unique_ptr<Broker>> Broker::bind(zmq::context_t& context,
                                             const config::BusConfig& bus) {
  std::unique_ptr<Broker> broker(new Broker(context));
  broker->devices_.reserve(3);
  Status s = broker->add_device("events", zmq::socket_type::xsub, bus.events_in,
                                zmq::socket_type::xpub, bus.events_out, bus);
  if (s.ok()) {
    s = broker->add_device("jobs", zmq::socket_type::pull, bus.jobs_in, zmq::socket_type::push,
                           bus.jobs_out, bus);
  }
  if (s.ok()) {
    s = broker->add_device("results", zmq::socket_type::pull, bus.results_in,
                           zmq::socket_type::push, bus.results_out, bus);
  }
  if (!s.ok()) return s.take_error();
  auto control = bind_socket(context, zmq::socket_type::rep, bus.control, bus);
  if (!control) return control.take_error();
  broker->control_ = std::move(*control);
  broker->started_ns_ = now_ns();
  return broker;
}

Broker::~Broker() {
  for (auto& device : devices_) {
    zmq_socket_monitor(device.in.handle(), nullptr, 0);
    zmq_socket_monitor(device.out.handle(), nullptr, 0);
  }
}

Status Broker::add_device(const std::string& name, zmq::socket_type in_type,
                          const std::string& in_endpoint, zmq::socket_type out_type,
                          const std::string& out_endpoint, const config::BusConfig& bus) {
  auto in = bind_socket(context_, in_type, in_endpoint, bus);
  if (!in) return in.take_error();
  auto out = bind_socket(context_, out_type, out_endpoint, bus);
  if (!out) return out.take_error();
  Device device;
  device.name = name;
  device.in = std::move(*in);
  device.out = std::move(*out);
  device.pubsub = in_type == zmq::socket_type::xsub;
  devices_.push_back(std::move(device));
  Device& stored = devices_.back();

  for (auto [socket, counter] : {std::pair{&stored.in, &stored.stats.peers_in},
                                 std::pair{&stored.out, &stored.stats.peers_out}}) {
    std::string address = "inproc://monitor-" + name + "-" + std::to_string(monitors_.size());
    if (zmq_socket_monitor(socket->handle(), address.c_str(),
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
      return make_error("cannot monitor " + name + ": " + zmq_strerror(zmq_errno()));
    }
    auto monitor = std::make_unique<Monitor>();
    monitor->pair = zmq::socket_t(context_, zmq::socket_type::pair);
    monitor->pair.set(zmq::sockopt::linger, 0);
    monitor->pair.connect(address);
    monitor->peers = counter;
    monitors_.push_back(std::move(monitor));
  }
  return Status::success();
}

void Broker::read_monitor(Monitor& monitor) {
  zmq::message_t event;
  zmq::message_t address;
  while (monitor.pair.recv(event, zmq::recv_flags::dontwait)) {
    if (event.more()) (void)monitor.pair.recv(address, zmq::recv_flags::dontwait);
    if (event.size() < 6) continue;
    uint16_t id = 0;
    std::memcpy(&id, event.data(), sizeof(id));
    if (id == ZMQ_EVENT_ACCEPTED) ++*monitor.peers;
    if (id == ZMQ_EVENT_DISCONNECTED && *monitor.peers > 0) --*monitor.peers;
  }
}

bool Broker::flush_pending(Device& device) {
  if (device.pending.empty()) return true;
  for (std::size_t i = 0; i < device.pending.size(); ++i) {
    bool last = i + 1 == device.pending.size();
    auto flags = zmq::send_flags::dontwait | (last ? zmq::send_flags::none : zmq::send_flags::sndmore);
    auto sent = device.out.send(device.pending[i], flags);
    // Only the first part can be refused: once it is queued the rest follow.
    if (!sent) {
      if (i == 0) return false;
      spdlog::error("{}: partial multipart send; message dropped", device.name);
      break;
    }
  }
  ++device.stats.messages;
  device.pending.clear();
  return true;
}

void Broker::forward(Device& device, int budget) {
  while (budget-- > 0 && flush_pending(device)) {
    std::vector<zmq::message_t> parts;
    zmq::message_t part;
    if (!device.in.recv(part, zmq::recv_flags::dontwait)) return;
    std::size_t bytes = part.size();
    bool more = part.more();
    parts.push_back(std::move(part));
    while (more) {
      zmq::message_t next;
      if (!device.in.recv(next, zmq::recv_flags::dontwait)) break;
      bytes += next.size();
      more = next.more();
      parts.push_back(std::move(next));
    }
    if (parts.size() != 2) {
      ++device.stats.dropped;
      continue;
    }
    device.stats.bytes += bytes;
    device.pending = std::move(parts);
  }
  flush_pending(device);
}

void Broker::forward_subscriptions(Device& device, int budget) {
  zmq::message_t message;
  while (budget-- > 0 && device.out.recv(message, zmq::recv_flags::dontwait)) {
    ++subscriptions_;
    (void)device.in.send(message, zmq::send_flags::dontwait);
  }
}

void Broker::answer_control() {
  zmq::message_t request;
  std::string command;
  bool more = true;
  while (more && control_.recv(request, zmq::recv_flags::dontwait)) {
    if (command.empty()) command.assign(request.data<char>(), std::min<size_t>(request.size(), 64));
    more = request.more();
  }
  std::string reply;
  if (command == "stats") {
    reply = stats_json().dump();
  } else if (command == "ping") {
    reply = "pong";
  } else {
    reply = nlohmann::json{{"error", "unknown command; use 'stats' or 'ping'"}}.dump();
  }
  (void)control_.send(zmq::buffer(reply), zmq::send_flags::dontwait);
}

void Broker::run(const std::function<bool()>& should_stop) {
  constexpr int kBudget = 1024;  // messages per socket per wake-up, for fairness
  std::vector<zmq::pollitem_t> items;
  while (!should_stop()) {
    items.clear();
    for (auto& device : devices_) {
      // With a message pending, wait for the outbound side to take it;
      // otherwise wait for inbound traffic. Never both, so nothing spins.
      if (device.pending.empty()) {
        items.push_back({device.in.handle(), 0, ZMQ_POLLIN, 0});
      } else {
        items.push_back({device.out.handle(), 0, ZMQ_POLLOUT, 0});
      }
    }
    items.push_back({devices_[0].out.handle(), 0, ZMQ_POLLIN, 0});  // subscriptions
    items.push_back({control_.handle(), 0, ZMQ_POLLIN, 0});
    for (auto& monitor : monitors_) items.push_back({monitor->pair.handle(), 0, ZMQ_POLLIN, 0});
    try {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(100));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      if (e.num() == ETERM) return;
      throw;
    }
    std::size_t i = 0;
    for (auto& device : devices_) {
      if (items[i++].revents != 0) forward(device, kBudget);
    }
    if (items[i++].revents != 0) forward_subscriptions(devices_[0], kBudget);
    if (items[i++].revents != 0) answer_control();
    for (auto& monitor : monitors_) {
      if (items[i++].revents != 0) read_monitor(*monitor);
    }
  }
}

nlohmann::json Broker::stats_json() const {
  nlohmann::json out;
  out["uptime_s"] = static_cast<double>(now_ns() - started_ns_) / 1e9;
  out["subscription_messages"] = subscriptions_;
  for (const auto& device : devices_) {
    out["devices"][device.name] = {
        {"messages", device.stats.messages},   {"bytes", device.stats.bytes},
        {"dropped", device.stats.dropped},     {"peers_in", device.stats.peers_in},
        {"peers_out", device.stats.peers_out}, {"pending", !device.pending.empty()},
    };
  }
  return out;
}

}  // namespace nightshift::bus
