// Bus clients. Stages talk to the broker only through these types; none of
// them touches raw socket setup (see socket_options.h).
//
// Frames are [topic or type][msgpack body]. Receivers treat every frame as
// untrusted: a malformed one is dropped, counted and logged (rate-limited),
// and the receiver goes on to the next.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "config/config.h"
#include "schema/codec.h"
#include "schema/job_messages.h"
#include "schema/result.h"
#include "base/log.h"
#include "base/process.h"

namespace nightshift::bus {

struct ReceiveStats {
  uint64_t received = 0;   // well-formed messages handed to the caller
  uint64_t malformed = 0;  // frames dropped as malformed
  uint64_t gaps = 0;       // messages missed, from per-publisher sequence gaps
};

// The limits every receiver decodes under, from the bus section of the
// config: the one place they are derived.
DecodeLimits decode_limits(const config::BusConfig& bus);

// One raw two-part frame as it came off a socket.
struct RawFrame {
  std::string topic;
  std::string body;
};

// Waits up to `timeout` for one multipart message. Returns nullopt on timeout
// or interrupt; a message with other than two parts comes back with
// `parts_ok == false` so the caller can count it.
struct RawReceive {
  RawFrame frame;
  bool parts_ok = true;
};
std::optional<RawReceive> receive_raw(zmq::socket_t& socket, std::chrono::milliseconds timeout);

// Sends [topic][body]; false if it could not be queued within `timeout`.
bool send_raw(zmq::socket_t& socket, std::string_view topic, std::string_view body,
              std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

// A well-formed message: its topic (or type), the decoded frame and the raw body.
struct Envelope {
  std::string topic;
  DecodedFrame frame;
  std::string body;
};

// The one receive loop every receiving bus client reads through: waits for a
// message, checks it has two parts, decodes and header-checks the body under
// the bus's limits, and drops, counts and logs (rate-limited) anything that
// fails, then goes on to the next. Nothing that arrives can throw out of it.
class FrameReader {
 public:
  FrameReader(zmq::socket_t socket, DecodeLimits limits, std::string what)
      : socket_(std::move(socket)), limits_(limits), what_(std::move(what)) {}

  // Waits up to `timeout` for the next well-formed message.
  std::optional<Envelope> next(std::chrono::milliseconds timeout);
  // The same for a stream decoded on one thread: the payload lives in `zone`
  // (cleared here before each message) and its strings point into the
  // returned envelope's body, which this reader owns. Valid until the next call.
  const Envelope* next_in_place(std::chrono::milliseconds timeout, msgpack::zone& zone);

  // Counts a message the caller found malformed after decoding (wrong type,
  // bad payload) and logs why, rate-limited.
  void reject(std::string_view why);
  const ReceiveStats& stats() const { return stats_; }
  ReceiveStats& stats() { return stats_; }
  zmq::socket_t& socket() { return socket_; }

 private:
  std::optional<RawReceive> next_two_parts(std::chrono::milliseconds timeout);

  zmq::socket_t socket_;
  DecodeLimits limits_;
  std::string what_;  // "event", "job", ... for the log
  ReceiveStats stats_;
  RateLimitedLog bad_input_log_;
  Envelope in_place_;
};

// What a publisher does at its send high-water mark: drop (the bus's rule
// for live events: a slow consumer must not stall a stage), or wait for room
// (a replay, which has nothing better to do and should not lose events;
// its socket also lingers at least 5 s on close, so the queue drains).
enum class AtMark { drop, wait };

class Publisher {
 public:
  static Result<Publisher> connect(zmq::context_t& context, const config::BusConfig& bus,
                                   Source self, AtMark at_mark = AtMark::drop);

  template <typename Payload>
  bool publish(const std::string& topic, const Payload& payload) {
    return publish_raw(topic, encode(next_header(), payload));
  }
  // Publishes an already-encoded body (replay, forwarding). With
  // AtMark::wait it waits up to `timeout` for room; false if none came.
  bool publish_raw(std::string_view topic, std::string_view body,
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  Header next_header();
  uint64_t sent() const { return seq_; }
  zmq::socket_t& socket() { return socket_; }

 private:
  Publisher(zmq::socket_t socket, Source self) : socket_(std::move(socket)), self_(std::move(self)) {}
  zmq::socket_t socket_;
  Source self_;
  uint64_t seq_ = 0;
};

class Subscriber {
 public:
  static Result<Subscriber> connect(zmq::context_t& context, const config::BusConfig& bus,
                                    const std::vector<std::string>& prefixes);

  void subscribe(const std::string& prefix);
  // Waits up to `timeout` for the next well-formed message.
  std::optional<Envelope> receive(std::chrono::milliseconds timeout);
  // The same, for a subscription whose messages are all of one type: the
  // next one of type Payload, decoded; any other is counted as malformed.
  template <typename Payload>
  std::optional<Message<Payload>> receive_as(std::chrono::milliseconds timeout) {
    auto envelope = receive(timeout);
    if (!envelope) return std::nullopt;
    auto payload = decode_payload<Payload>(envelope->frame);
    if (!payload) {
      reader_.reject("dropped event on '" + envelope->topic.substr(0, 80) + "': " + payload.error());
      return std::nullopt;
    }
    return Message<Payload>{std::move(envelope->frame.header), std::move(*payload)};
  }

  const ReceiveStats& stats() const { return reader_.stats(); }
  zmq::socket_t& socket() { return reader_.socket(); }

 private:
  explicit Subscriber(FrameReader reader) : reader_(std::move(reader)) {}
  void track_sequence(const Header& header);

  FrameReader reader_;
  std::unordered_map<std::string, uint64_t> last_seq_;
};

// Pipeline ends. Sender<Job> pushes to the broker's jobs_in; a JobReceiver
// (below) asks jobs_out for one job at a time. Results and the scheduler's checkpoints share the
// results pipeline (results_in / results_out): the persister is the only
// writer of the database and reads both from it.
template <typename Payload>
class Sender {
 public:
  static Result<Sender> connect(zmq::context_t& context, const config::BusConfig& bus,
                                Source self);
  // False when no broker accepted the message within `timeout`.
  bool send(const Payload& payload, std::chrono::milliseconds timeout) {
    Header header;
    header.ts_ns = now_ns();
    header.src = self_;
    header.seq = ++seq_;
    return send_raw(socket_, Payload::kType, encode(header, payload), timeout);
  }
  zmq::socket_t& socket() { return socket_; }

 private:
  Sender(zmq::socket_t socket, Source self) : socket_(std::move(socket)), self_(std::move(self)) {}
  zmq::socket_t socket_;
  Source self_;
  uint64_t seq_ = 0;
};

template <typename Payload>
class Receiver {
 public:
  static Result<Receiver> connect(zmq::context_t& context, const config::BusConfig& bus);
  std::optional<Message<Payload>> receive(std::chrono::milliseconds timeout);
  const ReceiveStats& stats() const { return reader_.stats(); }
  zmq::socket_t& socket() { return reader_.socket(); }

 private:
  explicit Receiver(FrameReader reader) : reader_(std::move(reader)) {}
  FrameReader reader_;
};

// A worker's end of the jobs pipeline: a DEALER on the broker's jobs_out
// ROUTER. Each receive() announces one free slot (broker/job_credit.h) —
// when the last announcement is out of date, and again every second while
// it waits, so a restarted broker hears of it — and the broker sends a job
// only against such a slot. Between two calls the worker is busy and earns
// nothing, so a job never queues behind a running one while another worker
// is idle.
class JobReceiver {
 public:
  static Result<JobReceiver> connect(zmq::context_t& context, const config::BusConfig& bus);
  std::optional<Message<Job>> receive(std::chrono::milliseconds timeout);
  const ReceiveStats& stats() const { return reader_.stats(); }
  zmq::socket_t& socket() { return reader_.socket(); }

 private:
  explicit JobReceiver(FrameReader reader) : reader_(std::move(reader)) {}
  void announce();

  FrameReader reader_;
  uint64_t consumed_ = 0;  // messages taken off the socket, malformed ones too
  std::optional<uint64_t> announced_for_;  // consumed_ when we last announced
  std::chrono::steady_clock::time_point announced_at_{};
};

// What arrives on the results pipeline: a worker's result or a scheduler's
// checkpoint.
using PipelineItem = std::variant<JobResult, RunCheckpoint>;

// The persister's end of the results pipeline: decodes into a reused zone
// (no allocation per message for the msgpack tree) and hands out typed items.
class ResultsPipelineReceiver {
 public:
  static Result<ResultsPipelineReceiver> connect(zmq::context_t& context,
                                                 const config::BusConfig& bus);
  // Waits up to `timeout` for the next well-formed result or checkpoint.
  std::optional<PipelineItem> receive(std::chrono::milliseconds timeout);
  const ReceiveStats& stats() const { return reader_.stats(); }
  zmq::socket_t& socket() { return reader_.socket(); }

 private:
  explicit ResultsPipelineReceiver(FrameReader reader) : reader_(std::move(reader)) {}
  FrameReader reader_;
  msgpack::zone zone_;
};

using JobSender = Sender<Job>;
using ResultSender = Sender<JobResult>;
using ResultReceiver = Receiver<JobResult>;
using CheckpointSender = Sender<RunCheckpoint>;

extern template class Sender<Job>;
extern template class Sender<JobResult>;
extern template class Sender<RunCheckpoint>;
extern template class Receiver<JobResult>;

// The Source a stage stamps on what it sends: this host, the stage, our pid.
Source self_source(const std::string& stage);

}  // namespace nightshift::bus
