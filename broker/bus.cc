#include "broker/bus.h"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include "broker/job_credit.h"
#include "broker/socket_options.h"
#include "base/process.h"

namespace nightshift::bus {
namespace {

std::chrono::milliseconds time_left(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

}  // namespace

DecodeLimits decode_limits(const config::BusConfig& bus) {
  DecodeLimits limits;
  limits.max_frame_bytes = static_cast<std::size_t>(bus.max_message_bytes);
  return limits;
}

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
      // A PUSH polls writable when it has room. A PUB with XPUB_NODROP
      // always polls writable (its refusal is per subscriber pipe), so a
      // poll that comes back at once is followed by a short sleep, doubling
      // to 2 ms: the wait costs no CPU that the process draining the queue
      // (the broker, a subscriber on the same cores) needs.
      auto deadline = std::chrono::steady_clock::now() + timeout;
      auto nap = std::chrono::microseconds(50);
      while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLOUT, 0};
        if (zmq::poll(&item, 1, left) == 0) return false;
        if (socket.send(topic_buffer, first)) break;
        std::this_thread::sleep_for(nap);
        nap = std::min<std::chrono::microseconds>(nap * 2, std::chrono::milliseconds(2));
      }
    }
    // Once the first part is queued ZeroMQ queues the rest atomically.
    zmq::const_buffer body_buffer(body.data(), body.size());
    return socket.send(body_buffer, zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    return false;
  }
}

std::optional<RawReceive> FrameReader::next_two_parts(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto raw = receive_raw(socket_, time_left(deadline));
    if (!raw || raw->parts_ok) return raw;
    reject("dropped " + what_ + ": expected 2 frames [topic][body]");
  }
}

std::optional<Envelope> FrameReader::next(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (auto raw = next_two_parts(time_left(deadline))) {
    auto frame = decode_frame(raw->frame.body, limits_);
    if (frame) {
      ++stats_.received;
      return Envelope{std::move(raw->frame.topic), std::move(*frame), std::move(raw->frame.body)};
    }
    reject("dropped " + what_ + " on '" + raw->frame.topic.substr(0, 80) + "': " + frame.error());
  }
  return std::nullopt;
}

const Envelope* FrameReader::next_in_place(std::chrono::milliseconds timeout,
                                           msgpack::zone& zone) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (auto raw = next_two_parts(time_left(deadline))) {
    // The previous message's payload was copied out by the caller already.
    zone.clear();
    in_place_.topic = std::move(raw->frame.topic);
    in_place_.body = std::move(raw->frame.body);
    auto frame = decode_frame(in_place_.body, zone, limits_);
    if (frame) {
      ++stats_.received;
      in_place_.frame = std::move(*frame);
      return &in_place_;
    }
    reject("dropped " + what_ + " on '" + in_place_.topic.substr(0, 80) + "': " + frame.error());
  }
  return nullptr;
}

void FrameReader::reject(std::string_view why) {
  ++stats_.malformed;
  bad_input_log_.warn(why);
}

Result<Publisher> Publisher::connect(zmq::context_t& context, const config::BusConfig& bus,
                                     Source self, AtMark at_mark) {
  auto socket = connect_socket(context, zmq::socket_type::pub, bus.events_in, bus);
  if (!socket) return socket.take_error();
  // ZMQ_XPUB_NODROP applies to PUB sockets too: at the mark a send then
  // fails with EAGAIN instead of dropping, and send_raw waits for room.
  // Such a publisher also gives its queue time to drain when it closes (a
  // replay at max speed ends with up to a high-water mark of messages
  // queued): at least 5 s of linger.
  if (at_mark == AtMark::wait) {
    socket->set(zmq::sockopt::xpub_nodrop, 1);
    socket->set(zmq::sockopt::linger, std::max(bus.linger_ms, 5000));
  }
  return Publisher(std::move(*socket), std::move(self));
}

Header Publisher::next_header() {
  Header header;
  header.ts_ns = now_ns();
  header.src = self_;
  header.seq = ++seq_;
  return header;
}

bool Publisher::publish_raw(std::string_view topic, std::string_view body,
                            std::chrono::milliseconds timeout) {
  return send_raw(socket_, topic, body, timeout);
}

Result<Subscriber> Subscriber::connect(zmq::context_t& context, const config::BusConfig& bus,
                                       const std::vector<std::string>& prefixes) {
  auto socket = connect_socket(context, zmq::socket_type::sub, bus.events_out, bus);
  if (!socket) return socket.take_error();
  Subscriber subscriber(FrameReader(std::move(*socket), decode_limits(bus), "event"));
  for (const auto& prefix : prefixes) subscriber.subscribe(prefix);
  return subscriber;
}

void Subscriber::subscribe(const std::string& prefix) {
  reader_.socket().set(zmq::sockopt::subscribe, prefix);
}

void Subscriber::track_sequence(const Header& header) {
  std::string publisher = header.src.host + "/" + header.src.stage + "/" +
                          std::to_string(header.src.pid);
  auto [it, inserted] = last_seq_.try_emplace(publisher, header.seq);
  if (!inserted) {
    if (header.seq > it->second + 1) reader_.stats().gaps += header.seq - it->second - 1;
    it->second = header.seq;
  }
}

std::optional<Envelope> Subscriber::receive(std::chrono::milliseconds timeout) {
  auto envelope = reader_.next(timeout);
  if (envelope) track_sequence(envelope->frame.header);
  return envelope;
}

template <typename Payload>
Result<Sender<Payload>> Sender<Payload>::connect(zmq::context_t& context,
                                                 const config::BusConfig& bus, Source self) {
  // Jobs go to the jobs pipeline; results and checkpoints to the results one.
  const std::string& endpoint =
      std::is_same_v<Payload, Job> ? bus.jobs_in : bus.results_in;
  auto socket = connect_socket(context, zmq::socket_type::push, endpoint, bus);
  if (!socket) return socket.take_error();
  return Sender(std::move(*socket), std::move(self));
}

template <typename Payload>
Result<Receiver<Payload>> Receiver<Payload>::connect(zmq::context_t& context,
                                                     const config::BusConfig& bus) {
  auto socket = connect_socket(context, zmq::socket_type::pull, bus.results_out, bus);
  if (!socket) return socket.take_error();
  return Receiver(FrameReader(std::move(*socket), decode_limits(bus), Payload::kType));
}

template <typename Payload>
std::optional<Message<Payload>> Receiver<Payload>::receive(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (auto envelope = reader_.next(time_left(deadline))) {
    auto payload = decode_payload<Payload>(envelope->frame);
    if (payload) return Message<Payload>{std::move(envelope->frame.header), std::move(*payload)};
    reader_.reject(std::string("dropped ") + Payload::kType + ": " + payload.error());
  }
  return std::nullopt;
}

Result<JobReceiver> JobReceiver::connect(zmq::context_t& context, const config::BusConfig& bus) {
  auto socket = connect_socket(context, zmq::socket_type::dealer, bus.jobs_out, bus);
  if (!socket) return socket.take_error();
  return JobReceiver(FrameReader(std::move(*socket), decode_limits(bus), Job::kType));
}

void JobReceiver::announce() {
  constexpr auto kAgain = std::chrono::seconds(1);
  auto now = std::chrono::steady_clock::now();
  if (announced_for_ == consumed_ && now - announced_at_ < kAgain) return;
  // Not sent (no broker connected yet): the next call tries again.
  if (reader_.socket().send(zmq::buffer(encode_job_credit({consumed_, 1})), zmq::send_flags::dontwait)) {
    announced_for_ = consumed_;
    announced_at_ = now;
  }
}

std::optional<Message<Job>> JobReceiver::receive(std::chrono::milliseconds timeout) {
  // Short waits, so an announcement out of date (a malformed message taken
  // inside the reader) or due again goes out promptly.
  constexpr auto kStep = std::chrono::milliseconds(100);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    announce();
    uint64_t malformed_before = reader_.stats().malformed;
    auto envelope = reader_.next(std::min(time_left(deadline), std::chrono::milliseconds(kStep)));
    consumed_ += reader_.stats().malformed - malformed_before + (envelope ? 1 : 0);
    if (!envelope) continue;
    auto payload = decode_payload<Job>(envelope->frame);
    if (payload) return Message<Job>{std::move(envelope->frame.header), std::move(*payload)};
    reader_.reject(std::string("dropped job: ") + payload.error());
  } while (time_left(deadline) > std::chrono::milliseconds(0));
  return std::nullopt;
}

Result<ResultsPipelineReceiver> ResultsPipelineReceiver::connect(zmq::context_t& context,
                                                                 const config::BusConfig& bus) {
  auto socket = connect_socket(context, zmq::socket_type::pull, bus.results_out, bus);
  if (!socket) return socket.take_error();
  return ResultsPipelineReceiver(FrameReader(std::move(*socket), decode_limits(bus), "result"));
}

std::optional<PipelineItem> ResultsPipelineReceiver::receive(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (const Envelope* envelope = reader_.next_in_place(time_left(deadline), zone_)) {
    const DecodedFrame& frame = envelope->frame;
    if (frame.header.type == JobResult::kType) {
      auto result = decode_payload<JobResult>(frame);
      if (result) return PipelineItem(std::move(*result));
      reader_.reject("dropped result: " + result.error());
    } else if (frame.header.type == RunCheckpoint::kType) {
      auto checkpoint = decode_payload<RunCheckpoint>(frame);
      if (checkpoint) return PipelineItem(std::move(*checkpoint));
      reader_.reject("dropped checkpoint: " + checkpoint.error());
    } else {
      reader_.reject("dropped '" + frame.header.type.substr(0, 40) + "' on the results pipeline");
    }
  }
  return std::nullopt;
}

template class Sender<Job>;
template class Sender<JobResult>;
template class Sender<RunCheckpoint>;
template class Receiver<JobResult>;

}  // namespace nightshift::bus
