// DatasetService: the fetcher's request/reply endpoint. It binds
// config.fetcher.dataset_endpoint (the one service a stage binds itself, so
// workers on any host can reach it) with a REP socket, answers one request at
// a time from the DatasetStore, and publishes data.ready.<symbol>.<tf> when a
// request brought new bars into the cache.
//
// Untrusted input: a malformed request still gets a reply (status "error"),
// because a REP socket that does not answer is stuck.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

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
  uint64_t errors = 0;
  uint64_t bytes_sent = 0;
};

class DatasetService {
 public:
  static Result<DatasetService> bind(zmq::context_t& context, const config::Config& config,
                                     DatasetStore& store, NoticeSink notices);

  // Serves at most one request, waiting up to `wait`. False on timeout.
  bool serve_one(std::chrono::milliseconds wait);

  const ServiceStats& stats() const { return stats_; }

 private:
  DatasetService(zmq::socket_t socket, const config::Config& config, DatasetStore& store,
                 NoticeSink notices);
  DatasetReply answer(const std::vector<std::string>& parts);
  DatasetReply answer_request(const DatasetRequest& request);

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
