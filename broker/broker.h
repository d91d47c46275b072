// The broker: the only process that binds bus sockets. It forwards three
// devices — events (XSUB -> XPUB), jobs (PULL -> ROUTER, each job to a worker
// that announced a free slot: broker/job_credit.h), results (PULL -> PUSH) —
// and answers "stats" / "ping" on a control (ROUTER) endpoint.
//
// It does not decode bodies (that would cost throughput and every receiver
// checks anyway); it drops frames that are not [topic][body] and counts them.
// ZMQ_MAXMSGSIZE on every socket caps frame size.
//
// Untrusted peers: any sequence of frames from any socket type at any bound
// endpoint is forwarded, answered or dropped; none can stop the loop. The
// control endpoint is a ROUTER, which has no send/receive state to corrupt
// (a REP socket that is sent a reply it did not expect throws); a request is
// answered only when it is [envelope...][empty][command], what REQ sends.
#pragma once

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "broker/job_credit.h"
#include "broker/zap_handler.h"
#include "config/config.h"
#include "schema/result.h"

namespace nightshift::bus {

struct ControlStats {
  uint64_t requests = 0;  // answered
  uint64_t dropped = 0;   // not [envelope][empty][command]
};

struct DeviceStats {
  uint64_t messages = 0;  // forwarded
  uint64_t bytes = 0;     // forwarded body + topic bytes
  uint64_t dropped = 0;   // malformed (not two frames)
  int64_t peers_in = 0;   // connected peers on the inbound socket
  int64_t peers_out = 0;  // connected peers on the outbound socket
  uint64_t handshakes_failed = 0;  // ZMTP/CURVE handshakes that failed (refused, garbage)
  // Events only (XPUB_NODROP, see Broker::flush_pending): live messages that
  // some subscriber missed because its queue was at its high-water mark;
  // replay.* messages that waited for a slow replay subscriber, and those
  // that still missed one after kReplayHoldLimit.
  uint64_t live_missed = 0;
  uint64_t replay_held = 0;
  uint64_t replay_missed = 0;
  // Jobs only: worker announcements that were not one credit frame, and
  // sends that found the announcing connection gone (its credit dropped).
  uint64_t credits_dropped = 0;
  uint64_t credit_peers_gone = 0;
};

// How long the broker holds a replay.* message for a subscriber whose queue
// is full before it gives up on that subscriber (which then misses messages
// until its queue has room again). Live events wait behind a held message,
// so this bounds what a stuck replay subscriber costs them.
inline constexpr std::chrono::milliseconds kReplayHoldLimit{2000};

class Broker {
 public:
  // `instance`: the run's token, answered to `ping` (empty: a broker started
  // by hand, outside a supervised run).
  static Result<std::unique_ptr<Broker>> bind(zmq::context_t& context,
                                              const config::BusConfig& bus,
                                              std::string instance = "");
  ~Broker();

  // Forwards until `should_stop` returns true (checked at least every 100 ms).
  void run(const std::function<bool()>& should_stop);

  nlohmann::json stats_json() const;
  const DeviceStats& events() const { return devices_[0].stats; }
  const DeviceStats& jobs() const { return devices_[1].stats; }
  const DeviceStats& results() const { return devices_[2].stats; }
  const ControlStats& control() const { return control_stats_; }
  // zmq errors a handler caught (the loop went on).
  uint64_t errors() const { return errors_; }

 private:
  // Watches a bound socket's connect/disconnect events to count its peers.
  struct Monitor {
    zmq::socket_t pair;
    int64_t* peers = nullptr;
    uint64_t* handshakes_failed = nullptr;
  };
  struct Device {
    std::string name;
    zmq::socket_t in;   // XSUB or PULL
    zmq::socket_t out;  // XPUB, PUSH or (jobs) ROUTER
    bool pubsub = false;
    bool routed = false;  // out is a ROUTER: a message goes to a peer with credit
    CreditLedger credit;
    std::vector<zmq::message_t> pending;  // a message the outbound side could not take yet
    // Events: since when `pending` (a replay.* message) waits for a full
    // subscriber; whether the last hold ran out and no replay message has
    // reached every subscriber since (then a full one is skipped at once).
    std::optional<std::chrono::steady_clock::time_point> held_since;
    bool replay_lossy = false;
    DeviceStats stats;
  };

  explicit Broker(zmq::context_t& context) : context_(context) {}
  Status add_device(const std::string& name, zmq::socket_type in_type,
                    const std::string& in_endpoint, zmq::socket_type out_type,
                    const std::string& out_endpoint, const config::BusConfig& bus);
  Status add_monitor(zmq::socket_t& socket, const std::string& name, int64_t* peers,
                     uint64_t* handshakes_failed);
  void forward(Device& device, int budget);
  bool flush_pending(Device& device);
  bool send_pending(Device& device);
  bool send_routed(Device& device);
  void read_credits(Device& device, int budget);
  bool at_mark(Device& device);
  void forward_subscriptions(Device& device, int budget);
  void answer_control(int budget);
  std::string control_reply(const std::string& command) const;
  void read_monitor(Monitor& monitor);
  // Runs one socket's handler; an exception is counted and logged, never thrown.
  template <typename Handler>
  void guarded(const char* what, Handler&& handler);

  zmq::context_t& context_;
  std::unique_ptr<ZapHandler> zap_;  // with CURVE: started before anything binds
  std::vector<Device> devices_;
  std::vector<std::unique_ptr<Monitor>> monitors_;
  zmq::socket_t control_;
  std::string instance_;
  ControlStats control_stats_;
  uint64_t control_handshakes_failed_ = 0;
  int64_t started_ns_ = 0;
  uint64_t subscriptions_ = 0;
  uint64_t subscriptions_dropped_ = 0;  // messages on XPUB that are not (un)subscriptions
  uint64_t errors_ = 0;
  RateLimitedLog bad_input_log_;
};

}  // namespace nightshift::bus
