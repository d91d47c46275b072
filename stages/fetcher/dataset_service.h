// DatasetService: the fetcher's request/reply endpoint. It binds
// config.fetcher.dataset_endpoint (the one service a stage binds itself, so
// workers on any host can reach it) with a ROUTER socket, answers one request
// at a time from the DatasetStore, and publishes data.ready.<symbol>.<tf> when
// a request brought new bars into the cache.
//
// Untrusted input: any sequence of frames from any socket type. A ROUTER has
// no request/reply state a peer could wedge (a REP does). A request arrives
// as [peer][envelope...][empty][dataset.request][body] from REQ clients; a
// well-enveloped but malformed request gets a reply with status "error", a
// message without the empty delimiter is dropped (there is no one to answer
// the REQ way). Both are counted and logged rate-limited.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>
#include <string>

#include "broker/zap_handler.h"
#include "config/config.h"
#include "schema/data_messages.h"
#include "schema/envelope.h"
#include "schema/result.h"
#include "base/log.h"
#include "stages/fetcher/dataset_store.h"
#include "stages/fetcher/source.h"

namespace nightshift::fetcher {

struct ServiceStats {
  uint64_t requests = 0;
  uint64_t unchanged = 0;
  uint64_t errors = 0;     // requests answered with status "error"
  uint64_t dropped = 0;    // messages without an envelope: no reply
  uint64_t bytes_sent = 0;
};

class DatasetService {
 public:
  static Result<DatasetService> bind(zmq::context_t& context, const config::Config& config,
                                     DatasetStore& store, NoticeSink notices);

  // Serves at most one request, waiting up to `wait`. False on timeout.
  bool serve_one(std::chrono::milliseconds wait);

  const ServiceStats& stats() const { return stats_; }
  // Connections the ZAP handler refused (0 without CURVE).
  uint64_t refused() const { return zap_ ? zap_->refused() : 0; }

 private:
  DatasetService(zmq::socket_t socket, const config::Config& config, DatasetStore& store,
                 NoticeSink notices);
  // One message from the ROUTER: its reply envelope (peer id .. empty frame)
  // and the request parts after it; nullopt when nothing arrived in time.
  struct Incoming {
    std::vector<zmq::message_t> envelope;
    std::vector<std::string> parts;
    std::size_t frames = 0;  // all frames of the message, kept or not
    bool delimited = false;  // an empty frame separated envelope and request
  };
  std::optional<Incoming> receive(std::chrono::milliseconds wait);
  void reply(Incoming& incoming, const DatasetReply& reply);
  DatasetReply answer(const std::vector<std::string>& parts);
  DatasetReply answer_request(const DatasetRequest& request);

  std::unique_ptr<bus::ZapHandler> zap_;  // with CURVE: whom the service admits
  zmq::socket_t socket_;
  config::BusConfig bus_;
  std::string default_source_;
  DatasetStore& store_;
  NoticeSink notices_;
  nightshift::Source self_;
  uint64_t seq_ = 0;
  ServiceStats stats_;
  RateLimitedLog bad_input_log_;
};

}  // namespace nightshift::fetcher
