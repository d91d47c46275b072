// DatasetResponder: one thread of the dataset service's pool. It reads the
// market cache through its own read-only connection, so the pool's threads
// answer cached datasets at once; a request that needs a fetch takes the
// pool's one fetch lock and goes through the DatasetStore's writer (SQLite
// has one writer, and the sources' politeness state is not shared-safe).
//
// The service's front (dataset_service.h) hands a responder one request at a
// time over an inproc DEALER: [envelope...][empty][request parts...]; the
// responder answers [envelope...][empty][dataset.reply][part]... and is idle
// again. It starts by sending one empty frame: "ready, nothing to answer".
// Request parts are untrusted (the front checked only the envelope): a
// malformed one is answered with status "error".
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "config/config.h"
#include "schema/data_messages.h"
#include "schema/envelope.h"
#include "stages/fetcher/dataset_store.h"
#include "stages/fetcher/market_cache.h"
#include "stages/fetcher/source.h"

namespace nightshift::fetcher {

// What the pool's threads share; owned by the service, outlives them.
struct ResponderShared {
  config::BusConfig bus;  // the front's bus settings (frame cap, decode limits)
  std::string default_source;
  DatasetStore& store;           // resolve()/get_cached() at once; get() under fetch_lock
  std::mutex fetch_lock;         // also serialises `notices` (the fetcher's publisher)
  NoticeSink notices;
  nightshift::Source self;
  std::atomic<uint64_t> seq{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> unchanged{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> fetched{0};  // requests that needed the fetch lock
  std::atomic<uint64_t> bytes_sent{0};
  std::atomic<bool> stop{false};
};

class DatasetResponder {
 public:
  // Starts the thread, which connects a DEALER to `pool_endpoint` (inproc)
  // and reads through `reader`.
  DatasetResponder(zmq::context_t& context, const std::string& pool_endpoint,
                   MarketCache reader, ResponderShared& shared);
  ~DatasetResponder();  // joins; set shared.stop first
  DatasetResponder(const DatasetResponder&) = delete;
  DatasetResponder& operator=(const DatasetResponder&) = delete;

 private:
  void run(zmq::context_t& context, const std::string& pool_endpoint);
  DatasetReply answer(const std::vector<std::string>& parts);
  DatasetReply answer_request(const DatasetRequest& request);

  MarketCache reader_;
  ResponderShared& shared_;
  RateLimitedLog bad_input_log_;
  std::thread thread_;  // last: starts after every member above exists
};

}  // namespace nightshift::fetcher
