#include "broker/broker.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <zmq.h>

#include <unistd.h>

#include <cstring>
#include <string_view>
#include <thread>

#include "broker/socket_options.h"
#include "base/process.h"

namespace nightshift::bus {

namespace {

// Parts of one message the broker keeps; the rest of a longer one is read and
// discarded (a peer may send any number of frames, each up to maxmsgsize).
constexpr std::size_t kMaxKeptParts = 16;

// Receives the rest of a multipart message whose first part was `first`,
// keeping at most kMaxKeptParts parts. Returns the number of parts it had.
std::size_t receive_rest(zmq::socket_t& socket, zmq::message_t first,
                         std::vector<zmq::message_t>& parts, std::size_t& bytes) {
  parts.clear();
  bytes = first.size();
  bool more = first.more();
  parts.push_back(std::move(first));
  std::size_t count = 1;
  while (more) {
    zmq::message_t next;
    // The parts of a message arrive together, so this never waits; a false
    // here only means the peer is gone.
    if (!socket.recv(next, zmq::recv_flags::dontwait)) break;
    ++count;
    bytes += next.size();
    more = next.more();
    if (parts.size() < kMaxKeptParts) parts.push_back(std::move(next));
  }
  return count;
}

void set_nodrop(zmq::socket_t& xpub, int nodrop) {
  zmq_setsockopt(xpub.handle(), ZMQ_XPUB_NODROP, &nodrop, sizeof nodrop);
}

}  // namespace

Result<std::unique_ptr<Broker>> Broker::bind(zmq::context_t& context,
                                             const config::BusConfig& bus,
                                             std::string instance) {
  std::unique_ptr<Broker> broker(new Broker(context));
  broker->instance_ = std::move(instance);
  if (bus.curve.enabled) {
    // Before any bind: a CURVE socket with no ZAP handler admits every key.
    auto zap = ZapHandler::start(context, bus);
    if (!zap) return zap.take_error();
    broker->zap_ = std::move(*zap);
  }
  broker->devices_.reserve(3);
  Status s = broker->add_device("events", zmq::socket_type::xsub, bus.events_in,
                                zmq::socket_type::xpub, bus.events_out, bus);
  if (s.ok()) {
    s = broker->add_device("jobs", zmq::socket_type::pull, bus.jobs_in, zmq::socket_type::router,
                           bus.jobs_out, bus);
  }
  if (s.ok()) {
    s = broker->add_device("results", zmq::socket_type::pull, bus.results_in,
                           zmq::socket_type::push, bus.results_out, bus);
  }
  if (!s.ok()) return s.take_error();
  auto control = bind_socket(context, zmq::socket_type::router, bus.control, bus, "control");
  if (!control) return control.take_error();
  broker->control_ = std::move(*control);
  s = broker->add_monitor(broker->control_, "control", nullptr,
                          &broker->control_handshakes_failed_);
  if (!s.ok()) return s.take_error();
  broker->started_ns_ = now_ns();
  return broker;
}

Broker::~Broker() {
  for (auto& device : devices_) {
    zmq_socket_monitor(device.in.handle(), nullptr, 0);
    zmq_socket_monitor(device.out.handle(), nullptr, 0);
  }
  if (control_) zmq_socket_monitor(control_.handle(), nullptr, 0);
}

Status Broker::add_device(const std::string& name, zmq::socket_type in_type,
                          const std::string& in_endpoint, zmq::socket_type out_type,
                          const std::string& out_endpoint, const config::BusConfig& bus) {
  auto in = bind_socket(context_, in_type, in_endpoint, bus, name + "_in");
  if (!in) return in.take_error();
  auto out = bind_socket(context_, out_type, out_endpoint, bus, name + "_out");
  if (!out) return out.take_error();
  Device device;
  device.name = name;
  device.in = std::move(*in);
  device.out = std::move(*out);
  device.pubsub = in_type == zmq::socket_type::xsub;
  if (device.pubsub) set_nodrop(device.out, 1);  // see at_mark()
  device.routed = out_type == zmq::socket_type::router;
  // A send to a routing id that is gone fails (EHOSTUNREACH) instead of
  // being dropped without a word, so a job is never lost to a dead worker.
  if (device.routed) device.out.set(zmq::sockopt::router_mandatory, 1);
  devices_.push_back(std::move(device));
  Device& stored = devices_.back();

  for (auto [socket, counter] : {std::pair{&stored.in, &stored.stats.peers_in},
                                 std::pair{&stored.out, &stored.stats.peers_out}}) {
    if (Status s = add_monitor(*socket, name, counter, &stored.stats.handshakes_failed); !s) {
      return s;
    }
  }
  return Status::success();
}

Status Broker::add_monitor(zmq::socket_t& socket, const std::string& name, int64_t* peers,
                           uint64_t* handshakes_failed) {
  std::string address = "inproc://monitor-" + name + "-" + std::to_string(monitors_.size());
  constexpr int kHandshakeFailed = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
  if (zmq_socket_monitor(socket.handle(), address.c_str(),
                         ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | kHandshakeFailed) != 0) {
    return make_error("cannot monitor " + name + ": " + zmq_strerror(zmq_errno()));
  }
  auto monitor = std::make_unique<Monitor>();
  monitor->pair = zmq::socket_t(context_, zmq::socket_type::pair);
  monitor->pair.set(zmq::sockopt::linger, 0);
  monitor->pair.connect(address);
  monitor->peers = peers;
  monitor->handshakes_failed = handshakes_failed;
  monitors_.push_back(std::move(monitor));
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
    if (monitor.peers != nullptr) {
      // A refused handshake still counts as accepted and then disconnected.
      if (id == ZMQ_EVENT_ACCEPTED) ++*monitor.peers;
      if (id == ZMQ_EVENT_DISCONNECTED && *monitor.peers > 0) --*monitor.peers;
    }
    if (id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL || id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
        id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
      ++*monitor.handshakes_failed;
    }
  }
}

// Queues `pending` without waiting; false when the outbound side refused
// its first part (then nothing of it was queued and it stays pending).
bool Broker::send_pending(Device& device) {
  if (device.routed) return send_routed(device);
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

// Sends `pending` to the next connection with credit; false when none has
// any (then it stays pending until an announcement arrives).
bool Broker::send_routed(Device& device) {
  while (auto peer = device.credit.next_peer()) {
    bool queued = false;
    try {
      // EAGAIN: the connection's queue is full; it earns credit again by announcing.
      queued = device.out.send(zmq::buffer(*peer), zmq::send_flags::sndmore | zmq::send_flags::dontwait)
                   .has_value();
    } catch (const zmq::error_t& e) {
      if (e.num() != EHOSTUNREACH) throw;
      ++device.stats.credit_peers_gone;  // the worker went away with credit left
    }
    if (!queued) {
      device.credit.forget(*peer);
      continue;
    }
    // Once the routing frame is queued the rest of the message follows.
    for (std::size_t i = 0; i < device.pending.size(); ++i) {
      bool last = i + 1 == device.pending.size();
      (void)device.out.send(device.pending[i], zmq::send_flags::dontwait |
                                                   (last ? zmq::send_flags::none : zmq::send_flags::sndmore));
    }
    device.credit.sent(*peer);
    ++device.stats.messages;
    device.pending.clear();
    return true;
  }
  return false;
}

// Worker announcements on a routed device: [routing id][credit frame].
void Broker::read_credits(Device& device, int budget) {
  std::vector<zmq::message_t> parts;
  zmq::message_t first;
  while (budget-- > 0 && device.out.recv(first, zmq::recv_flags::dontwait)) {
    std::size_t bytes = 0;
    std::size_t count = receive_rest(device.out, std::move(first), parts, bytes);
    std::optional<JobCredit> credit;
    if (count == 2) credit = decode_job_credit(parts[1].data(), parts[1].size());
    if (!credit) {
      ++device.stats.credits_dropped;
      bad_input_log_.warn(fmt::format("{}: dropped a message of {} parts on the worker side (not "
                                      "a job credit)", device.name, count - 1));
      continue;
    }
    device.credit.announce(parts[0].to_string(), *credit);
  }
}

bool Broker::flush_pending(Device& device) {
  if (device.pending.empty()) return true;
  if (send_pending(device)) {
    // A replay message reached every subscriber: hold again from now on.
    if (device.pubsub) device.replay_lossy = false;
    device.held_since.reset();
    return true;
  }
  return device.pubsub ? at_mark(device) : false;  // a PUSH: wait for POLLOUT
}

// The events XPUB runs with XPUB_NODROP, so a send it refuses means that a
// subscriber of the message's topic has its queue at the high-water mark
// (instead of ZeroMQ dropping the message for it without a word).
//
// A live event goes on at once to every other subscriber; the full one
// misses it, as with plain PUB/SUB: the broker never waits for a live
// subscriber. A replay.* event is held instead: the broker reads nothing
// more from events_in until the slow subscriber has room, so the replay's
// publisher (which waits at its own mark) slows to that subscriber's pace
// and `replay --max-speed` delivers every event. Live events wait behind a
// held message (they queue in their publishers' pipes, which are far from
// full at live rates), so a hold is bounded by kReplayHoldLimit: a replay
// subscriber that takes nothing for that long misses replay events until a
// replay message again reaches every subscriber.
bool Broker::at_mark(Device& device) {
  std::string_view topic(device.pending[0].data<char>(), device.pending[0].size());
  const bool replay = topic.starts_with("replay.");
  if (replay && !device.replay_lossy) {
    auto now = std::chrono::steady_clock::now();
    if (!device.held_since) {
      device.held_since = now;
      ++device.stats.replay_held;
    }
    if (now - *device.held_since < kReplayHoldLimit) return false;
    device.replay_lossy = true;
    bad_input_log_.warn(fmt::format("{}: a replay subscriber took nothing for {} ms; it misses "
                                    "replay events until its queue has room",
                                    device.name, kReplayHoldLimit.count()));
  }
  set_nodrop(device.out, 0);
  bool sent = send_pending(device);  // lossy: never refused
  set_nodrop(device.out, 1);
  device.held_since.reset();
  if (sent) ++(replay ? device.stats.replay_missed : device.stats.live_missed);
  return sent;
}

void Broker::forward(Device& device, int budget) {
  std::vector<zmq::message_t> parts;
  while (budget-- > 0 && flush_pending(device)) {
    zmq::message_t first;
    if (!device.in.recv(first, zmq::recv_flags::dontwait)) return;
    std::size_t bytes = 0;
    std::size_t count = receive_rest(device.in, std::move(first), parts, bytes);
    if (count != 2) {
      ++device.stats.dropped;
      bad_input_log_.warn(fmt::format("{}: dropped a message of {} parts (expected [topic][body])",
                                      device.name, count));
      continue;
    }
    device.stats.bytes += bytes;
    device.pending = std::move(parts);
    parts.clear();
  }
  flush_pending(device);
}

// An XPUB hears (un)subscriptions from SUB peers — one frame starting with 1
// or 0 — and, from XSUB peers, anything at all. Only (un)subscriptions go
// upstream to the publishers.
void Broker::forward_subscriptions(Device& device, int budget) {
  std::vector<zmq::message_t> parts;
  zmq::message_t first;
  while (budget-- > 0 && device.out.recv(first, zmq::recv_flags::dontwait)) {
    std::size_t bytes = 0;
    std::size_t count = receive_rest(device.out, std::move(first), parts, bytes);
    const auto* data = parts[0].data<unsigned char>();
    if (count != 1 || parts[0].size() == 0 || (data[0] != 0 && data[0] != 1)) {
      ++subscriptions_dropped_;
      bad_input_log_.warn(fmt::format("{}: dropped a message of {} parts on the subscriber side "
                                      "(not a subscription)", device.name, count));
      continue;
    }
    ++subscriptions_;
    (void)device.in.send(parts[0], zmq::send_flags::dontwait);
  }
}

// A ROUTER hands us [peer id][envelope...][empty][body...]. REQ (and DEALER
// used the REQ way) sends one body frame: the command. Anything else is
// dropped without a reply; a reply to a peer that has gone is dropped by
// ZeroMQ.
void Broker::answer_control(int budget) {
  std::vector<zmq::message_t> parts;
  zmq::message_t first;
  while (budget-- > 0 && control_.recv(first, zmq::recv_flags::dontwait)) {
    std::size_t bytes = 0;
    std::size_t count = receive_rest(control_, std::move(first), parts, bytes);
    std::size_t delimiter = 1;
    while (delimiter < parts.size() && parts[delimiter].size() != 0) ++delimiter;
    if (count != parts.size() || delimiter + 2 != parts.size()) {
      ++control_stats_.dropped;
      bad_input_log_.warn(fmt::format("control: dropped a request of {} parts (expected "
                                      "[envelope][empty][command])", count - 1));
      continue;
    }
    const zmq::message_t& body = parts.back();
    std::string reply = control_reply(
        std::string(body.data<char>(), std::min<std::size_t>(body.size(), 64)));
    ++control_stats_.requests;
    for (std::size_t i = 0; i <= delimiter; ++i) {
      if (!control_.send(parts[i], zmq::send_flags::sndmore | zmq::send_flags::dontwait)) break;
      if (i == delimiter) (void)control_.send(zmq::buffer(reply), zmq::send_flags::dontwait);
    }
  }
}

std::string Broker::control_reply(const std::string& command) const {
  if (command == "stats") return stats_json().dump();
  if (command == "ping") {
    return nlohmann::json{{"pong", true}, {"instance", instance_}, {"pid", getpid()}}.dump();
  }
  return nlohmann::json{{"error", "unknown command; use 'stats' or 'ping'"}}.dump();
}

template <typename Handler>
void Broker::guarded(const char* what, Handler&& handler) {
  try {
    handler();
  } catch (const zmq::error_t& e) {
    if (e.num() == ETERM) throw;
    if (e.num() == EINTR) return;  // a signal: the loop checks should_stop
    ++errors_;
    bad_input_log_.warn(fmt::format("{}: {} (counted; the broker goes on)", what, e.what()));
  } catch (const std::exception& e) {
    ++errors_;
    bad_input_log_.warn(fmt::format("{}: {} (counted; the broker goes on)", what, e.what()));
  }
}

void Broker::run(const std::function<bool()>& should_stop) {
  constexpr int kBudget = 1024;  // messages per socket per wake-up, for fairness
  std::vector<zmq::pollitem_t> items;
  while (!should_stop()) {
    items.clear();
    auto timeout = std::chrono::milliseconds(100);
    for (auto& device : devices_) {
      // With a message pending, wait for the outbound side to take it;
      // otherwise wait for inbound traffic. Never both, so nothing spins.
      // An XPUB always polls writable (its refusal is per subscriber), so a
      // held replay message is retried every millisecond instead.
      if (device.pending.empty()) {
        items.push_back({device.in.handle(), 0, ZMQ_POLLIN, 0});
      } else if (device.pubsub) {
        items.push_back({device.in.handle(), 0, 0, 0});
        timeout = std::chrono::milliseconds(1);
      } else if (device.routed) {
        items.push_back({device.in.handle(), 0, 0, 0});  // waits for credit (below)
      } else {
        items.push_back({device.out.handle(), 0, ZMQ_POLLOUT, 0});
      }
    }
    for (auto& device : devices_) {
      if (device.routed) items.push_back({device.out.handle(), 0, ZMQ_POLLIN, 0});  // credits
    }
    items.push_back({devices_[0].out.handle(), 0, ZMQ_POLLIN, 0});  // subscriptions
    items.push_back({control_.handle(), 0, ZMQ_POLLIN, 0});
    for (auto& monitor : monitors_) items.push_back({monitor->pair.handle(), 0, ZMQ_POLLIN, 0});
    try {
      zmq::poll(items.data(), items.size(), timeout);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      if (e.num() == ETERM) return;
      ++errors_;
      bad_input_log_.warn(std::string("poll: ") + e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    std::size_t i = 0;
    try {
      for (auto& device : devices_) {
        bool held = device.pubsub && !device.pending.empty();
        if (items[i++].revents != 0 || held) {
          guarded(device.name.c_str(), [&] { forward(device, kBudget); });
        }
      }
      for (auto& device : devices_) {
        if (!device.routed || items[i++].revents == 0) continue;
        guarded(device.name.c_str(), [&] {
          read_credits(device, kBudget);
          forward(device, kBudget);
        });
      }
      if (items[i++].revents != 0) {
        guarded("subscriptions", [&] { forward_subscriptions(devices_[0], kBudget); });
      }
      if (items[i++].revents != 0) guarded("control", [&] { answer_control(kBudget); });
      for (auto& monitor : monitors_) {
        if (items[i++].revents != 0) guarded("monitor", [&] { read_monitor(*monitor); });
      }
    } catch (const zmq::error_t&) {
      return;  // ETERM: the context is closing
    }
  }
}

nlohmann::json Broker::stats_json() const {
  nlohmann::json out;
  out["uptime_s"] = static_cast<double>(now_ns() - started_ns_) / 1e9;
  out["subscription_messages"] = subscriptions_;
  out["subscription_dropped"] = subscriptions_dropped_;
  out["control"] = {{"requests", control_stats_.requests},
                    {"dropped", control_stats_.dropped},
                    {"handshakes_failed", control_handshakes_failed_}};
  out["security"] = zap_ ? zap_->stats_json() : nlohmann::json{{"curve", false}};
  out["errors"] = errors_;
  out["instance"] = instance_;
  for (const auto& device : devices_) {
    out["devices"][device.name] = {
        {"messages", device.stats.messages},   {"bytes", device.stats.bytes},
        {"dropped", device.stats.dropped},     {"peers_in", device.stats.peers_in},
        {"peers_out", device.stats.peers_out}, {"pending", !device.pending.empty()},
        {"handshakes_failed", device.stats.handshakes_failed},
    };
    if (device.pubsub) {
      out["devices"][device.name]["live_missed"] = device.stats.live_missed;
      out["devices"][device.name]["replay_held"] = device.stats.replay_held;
      out["devices"][device.name]["replay_missed"] = device.stats.replay_missed;
    }
    if (device.routed) {
      out["devices"][device.name]["credit"] = {
          {"connections", device.credit.peers()},
          {"available", device.credit.available()},
          {"dropped", device.stats.credits_dropped},
          {"connections_gone", device.stats.credit_peers_gone}};
    }
  }
  return out;
}

}  // namespace nightshift::bus
