// The ZAP handler of a process that binds CURVE endpoints (the broker, the
// dataset service). Without one libzmq admits every client key, so a process
// with security.curve starts it before it binds anything.
//
// It answers ZeroMQ's authentication requests (ZAP, RFC 27) on
// inproc://zeromq.zap.01 of the binder's context, on its own thread, so a
// handshake is never held up by the binder's work. A client is admitted when
// its public key is the binder's own (the head's stages) or one of the files
// in authorized_keys_dir (re-read when the
// folder changes, so `keys authorize` needs no restart), its role may use the
// endpoint (each bound socket's ZAP domain names it: jobs_out, results_in, …;
// bus::role_may) and, when the key lists addresses, it connects from one.
// Every refusal is counted and logged rate-limited.
#pragma once

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config/config.h"
#include "schema/result.h"

namespace nightshift::bus {

class ZapHandler {
 public:
  // Binds inproc://zeromq.zap.01 in `context` and starts answering.
  static Result<std::unique_ptr<ZapHandler>> start(zmq::context_t& context,
                                                   const config::BusConfig& bus);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  uint64_t admitted() const { return admitted_.load(); }
  uint64_t refused() const { return refused_.load(); }
  // {"curve": true, "admitted": N, "refused": N, "refused_by_endpoint": {...}}
  nlohmann::json stats_json() const;

 private:
  ZapHandler(zmq::socket_t socket, std::string keys_dir, std::string own_key);
  void serve();

  zmq::socket_t socket_;
  std::string keys_dir_;
  std::string own_key_;  // the binder's public key, always admitted (role head)
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> admitted_{0};
  std::atomic<uint64_t> refused_{0};
  mutable std::mutex by_endpoint_mutex_;
  nlohmann::json refused_by_endpoint_ = nlohmann::json::object();
  std::thread thread_;
};

}  // namespace nightshift::bus
