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
#include <vector>

#include "config/config.h"
#include "schema/codec.h"
#include "schema/job_messages.h"
#include "schema/result.h"
#include "stages/common/log.h"
#include "stages/common/process.h"

namespace nightshift::bus {

struct ReceiveStats {
  uint64_t received = 0;   // well-formed messages handed to the caller
  uint64_t malformed = 0;  // frames dropped as malformed
  uint64_t gaps = 0;       // messages missed, from per-publisher sequence gaps
};

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

class Publisher {
 public:
  static Result<Publisher> connect(zmq::context_t& context, const config::BusConfig& bus,
                                   Source self);

  template <typename Payload>
  bool publish(const std::string& topic, const Payload& payload) {
    return publish_raw(topic, encode(next_header(), payload));
  }
  // Publishes an already-encoded body (replay, forwarding).
  bool publish_raw(std::string_view topic, std::string_view body);

  Header next_header();
  uint64_t sent() const { return seq_; }
  zmq::socket_t& socket() { return socket_; }

 private:
  Publisher(zmq::socket_t socket, Source self) : socket_(std::move(socket)), self_(std::move(self)) {}
  zmq::socket_t socket_;
  Source self_;
  uint64_t seq_ = 0;
};

// A well-formed event: its topic, the decoded frame and the raw body.
struct Envelope {
  std::string topic;
  DecodedFrame frame;
  std::string body;
};

class Subscriber {
 public:
  static Result<Subscriber> connect(zmq::context_t& context, const config::BusConfig& bus,
                                    const std::vector<std::string>& prefixes);

  void subscribe(const std::string& prefix);
  // Waits up to `timeout` for the next well-formed message.
  std::optional<Envelope> receive(std::chrono::milliseconds timeout);

  const ReceiveStats& stats() const { return stats_; }
  zmq::socket_t& socket() { return socket_; }

 private:
  Subscriber(zmq::socket_t socket, DecodeLimits limits)
      : socket_(std::move(socket)), limits_(limits) {}
  void track_sequence(const Header& header);

  zmq::socket_t socket_;
  DecodeLimits limits_;
  ReceiveStats stats_;
  RateLimitedLog bad_input_log_;
  std::unordered_map<std::string, uint64_t> last_seq_;
};

// Pipeline ends. Sender<Job> pushes to the broker's jobs_in; Receiver<Job>
// pulls from jobs_out (likewise results_in / results_out for JobResult).
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
  const ReceiveStats& stats() const { return stats_; }
  zmq::socket_t& socket() { return socket_; }

 private:
  Receiver(zmq::socket_t socket, DecodeLimits limits)
      : socket_(std::move(socket)), limits_(limits) {}
  zmq::socket_t socket_;
  DecodeLimits limits_;
  ReceiveStats stats_;
  RateLimitedLog bad_input_log_;
};

using JobSender = Sender<Job>;
using JobReceiver = Receiver<Job>;
using ResultSender = Sender<JobResult>;
using ResultReceiver = Receiver<JobResult>;

extern template class Sender<Job>;
extern template class Sender<JobResult>;
extern template class Receiver<Job>;
extern template class Receiver<JobResult>;

// The Source a stage stamps on what it sends: this host, the stage, our pid.
Source self_source(const std::string& stage);

}  // namespace nightshift::bus
