#include "broker/bus.h"

#include <unistd.h>

#include "broker/socket_options.h"
#include "stages/common/process.h"

namespace nightshift::bus {
namespace {

DecodeLimits limits_from(const config::BusConfig& bus) {
  DecodeLimits limits;
  limits.max_frame_bytes = static_cast<std::size_t>(bus.max_message_bytes);
  return limits;
}

}  // namespace

Source self_source(const std::string& stage) {
  return Source{host_name(), stage, static_cast<int64_t>(getpid())};
}

std::optional<RawReceive> receive_raw(zmq::socket_t& socket, std::chrono::milliseconds timeout) {
  try {
    // With no wait, a non-blocking recv alone says whether a message is
    // there: draining loops then cost no poll() system call per message.
    if (timeout.count() != 0) {
      zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
    }
    RawReceive out;
    zmq::message_t part;
    int parts = 0;
    do {
      if (!socket.recv(part, zmq::recv_flags::dontwait)) return std::nullopt;
      if (parts == 0) out.frame.topic.assign(part.data<char>(), part.size());
      if (parts == 1) out.frame.body.assign(part.data<char>(), part.size());
      ++parts;
    } while (part.more());
    out.parts_ok = parts == 2;
    return out;
  } catch (const zmq::error_t&) {
    return std::nullopt;  // EINTR (a stop signal) or a closing context
  }
}

bool send_raw(zmq::socket_t& socket, std::string_view topic, std::string_view body,
              std::chrono::milliseconds timeout) {
  try {
    zmq::const_buffer topic_buffer(topic.data(), topic.size());
    const auto first = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
    // Try first and poll only when the queue is full: a poll() system call
    // before every send would cost more than the send itself.
    if (!socket.send(topic_buffer, first)) {
      if (timeout.count() <= 0) return false;
      zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLOUT, 0};
      if (zmq::poll(&item, 1, timeout) == 0) return false;
      if (!socket.send(topic_buffer, first)) return false;
    }
    // Once the first part is queued ZeroMQ queues the rest atomically.
    zmq::const_buffer body_buffer(body.data(), body.size());
    return socket.send(body_buffer, zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    return false;
  }
}

Result<Publisher> Publisher::connect(zmq::context_t& context, const config::BusConfig& bus,
                                     Source self) {
  auto socket = connect_socket(context, zmq::socket_type::pub, bus.events_in, bus);
  if (!socket) return Error{socket.error()};
  return Publisher(std::move(*socket), std::move(self));
}

Header Publisher::next_header() {
  Header header;
  header.ts_ns = now_ns();
  header.src = self_;
  header.seq = ++seq_;
  return header;
}

bool Publisher::publish_raw(std::string_view topic, std::string_view body) {
  return send_raw(socket_, topic, body);
}

Result<Subscriber> Subscriber::connect(zmq::context_t& context, const config::BusConfig& bus,
                                       const std::vector<std::string>& prefixes) {
  auto socket = connect_socket(context, zmq::socket_type::sub, bus.events_out, bus);
  if (!socket) return Error{socket.error()};
  Subscriber subscriber(std::move(*socket), limits_from(bus));
  for (const auto& prefix : prefixes) subscriber.subscribe(prefix);
  return subscriber;
}

void Subscriber::subscribe(const std::string& prefix) {
  socket_.set(zmq::sockopt::subscribe, prefix);
}

void Subscriber::track_sequence(const Header& header) {
  std::string publisher = header.src.host + "/" + header.src.stage + "/" +
                          std::to_string(header.src.pid);
  auto [it, inserted] = last_seq_.try_emplace(publisher, header.seq);
  if (!inserted) {
    if (header.seq > it->second + 1) stats_.gaps += header.seq - it->second - 1;
    it->second = header.seq;
  }
}

std::optional<Envelope> Subscriber::receive(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    auto raw = receive_raw(socket_, left);
    if (!raw) return std::nullopt;
    if (!raw->parts_ok) {
      ++stats_.malformed;
      bad_input_log_.warn("dropped event: expected 2 frames [topic][body]");
      continue;
    }
    auto frame = decode_frame(raw->frame.body, limits_);
    if (!frame) {
      ++stats_.malformed;
      bad_input_log_.warn("dropped event on '" + raw->frame.topic.substr(0, 80) +
                          "': " + frame.error());
      continue;
    }
    ++stats_.received;
    track_sequence(frame->header);
    return Envelope{std::move(raw->frame.topic), std::move(*frame), std::move(raw->frame.body)};
  }
}

template <typename Payload>
Result<Sender<Payload>> Sender<Payload>::connect(zmq::context_t& context,
                                                 const config::BusConfig& bus, Source self) {
  const std::string& endpoint =
      std::is_same_v<Payload, Job> ? bus.jobs_in : bus.results_in;
  auto socket = connect_socket(context, zmq::socket_type::push, endpoint, bus);
  if (!socket) return Error{socket.error()};
  return Sender(std::move(*socket), std::move(self));
}

template <typename Payload>
Result<Receiver<Payload>> Receiver<Payload>::connect(zmq::context_t& context,
                                                     const config::BusConfig& bus) {
  const std::string& endpoint =
      std::is_same_v<Payload, Job> ? bus.jobs_out : bus.results_out;
  auto socket = connect_socket(context, zmq::socket_type::pull, endpoint, bus);
  if (!socket) return Error{socket.error()};
  return Receiver(std::move(*socket), limits_from(bus));
}

template <typename Payload>
std::optional<Message<Payload>> Receiver<Payload>::receive(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    auto raw = receive_raw(socket_, left);
    if (!raw) return std::nullopt;
    if (!raw->parts_ok) {
      ++stats_.malformed;
      bad_input_log_.warn("dropped message: expected 2 frames [type][body]");
      continue;
    }
    auto message = decode<Payload>(raw->frame.body, limits_);
    if (!message) {
      ++stats_.malformed;
      bad_input_log_.warn(std::string("dropped ") + Payload::kType + ": " + message.error());
      continue;
    }
    ++stats_.received;
    return std::move(*message);
  }
}

template class Sender<Job>;
template class Sender<JobResult>;
template class Receiver<Job>;
template class Receiver<JobResult>;

}  // namespace nightshift::bus
