// DatasetService: the fetcher's request/reply endpoint. It binds
// config.fetcher.dataset_endpoint (the one service a stage binds itself, so
// workers on any host can reach it) with a ROUTER socket, the front, and
// answers through a pool of `fetcher.dataset_threads` responder threads
// (dataset_responder.h), each with its own read-only market.db connection:
// many workers asking at once are answered at once, and a large or slow
// request (a year of minute bars, a cold fetch) holds one thread, not the
// service. The front hands a request only to an idle thread (each says when
// it is idle), so nothing queues behind a busy one; when every thread is
// busy, requests wait in the front socket. Fetches (which write the cache)
// go one at a time; a request the cache answers never waits for one. New
// bars in the cache are announced on data.ready.<symbol>.<tf>.
//
// Untrusted input: any sequence of frames from any socket type. A ROUTER has
// no request/reply state a peer could wedge (a REP does). A request arrives
// as [peer][envelope...][empty][dataset.request][body] from REQ clients; a
// message without the empty delimiter, or of more than 16 frames, is dropped
// by the front (there is no one to answer the REQ way); a well-enveloped but
// malformed request gets a reply with status "error" from a pool thread.
// Both are counted and logged rate-limited. With CURVE, the front is a CURVE
// server behind this process's ZAP handler; the pool sockets are inproc.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "broker/zap_handler.h"
#include "config/config.h"
#include "schema/result.h"
#include "stages/fetcher/dataset_responder.h"
#include "stages/fetcher/dataset_store.h"
#include "stages/fetcher/source.h"

namespace nightshift::fetcher {

struct ServiceStats {
  uint64_t requests = 0;
  uint64_t unchanged = 0;
  uint64_t errors = 0;     // requests answered with status "error"
  uint64_t fetched = 0;    // requests that had to fetch (one at a time)
  uint64_t dropped = 0;    // messages without an envelope: no reply
  uint64_t bytes_sent = 0;
};

// fetcher.dataset_threads, or with 0 one per core (at least 2, at most 16).
int dataset_pool_size(const config::FetcherConfig& fetcher);

class DatasetService {
 public:
  // Binds the front, opens a read-only market.db connection per pool thread
  // (config.storage.market_db, created by MarketData first) and starts them.
  static Result<std::unique_ptr<DatasetService>> bind(zmq::context_t& context,
                                                      const config::Config& config,
                                                      DatasetStore& store, NoticeSink notices);
  ~DatasetService();  // stops and joins the pool
  DatasetService(const DatasetService&) = delete;
  DatasetService& operator=(const DatasetService&) = delete;

  // Routes what arrives within `wait`: requests to idle threads, replies to
  // their peers. False when nothing arrived.
  bool serve_one(std::chrono::milliseconds wait);

  ServiceStats stats() const;
  int threads() const { return static_cast<int>(responders_.size()); }
  // Connections the ZAP handler refused (0 without CURVE).
  uint64_t refused() const { return zap_ ? zap_->refused() : 0; }

 private:
  DatasetService(const config::Config& config, DatasetStore& store, NoticeSink notices);
  void take_request();
  void take_replies();

  std::unique_ptr<bus::ZapHandler> zap_;  // with CURVE: whom the service admits
  std::optional<zmq::socket_t> front_;     // ROUTER on fetcher.dataset_endpoint
  std::optional<zmq::socket_t> pool_;      // ROUTER on inproc, the threads' DEALERs
  ResponderShared shared_;
  std::vector<std::unique_ptr<DatasetResponder>> responders_;
  std::deque<zmq::message_t> idle_;  // routing ids of threads waiting for a request
  uint64_t dropped_ = 0;
  RateLimitedLog bad_input_log_;
};

}  // namespace nightshift::fetcher
