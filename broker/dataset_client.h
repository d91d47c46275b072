// DatasetClient: the worker side of the fetcher's dataset service.
//
// request() sends a DatasetRequest to config.fetcher.dataset_endpoint and
// returns the bars. Each process keeps what it received, keyed by request:
// a repeated request carries `have_fingerprint`, and when the service still
// holds the same bars it answers "unchanged" with no bars, so a dataset
// crosses the network once per process.
//
// With fetcher.host_cache_dir, what a process receives is also written there
// (the reply as it came, written whole then renamed into place), and a
// process that lacks a dataset first loads it from there and asks with its
// fingerprint: the workers of one host share one copy, and a dataset crosses
// the network once per host. The file is decoded with the same limits as the
// wire, and the service's fingerprint decides whether it is still current.
//
// Reliability is the "lazy pirate" pattern: a REQ socket whose reply never
// came is stuck, so on timeout the socket is closed and a fresh one made
// before the next attempt. After `attempts` timeouts the request fails.
//
// A service that dies with our request (kill -9, a crash, a host that drops
// off) is noticed at once rather than after the timeout: a socket monitor
// reports the connection's end (a process's exit closes it; ZMTP heartbeats
// close a silent one), and the request goes out again on a fresh socket as
// soon as the restarted service accepts it. Such a lost connection is not a
// timed-out attempt, so a fetcher restart costs the restart, not
// dataset_timeout_ms; the whole request is still bounded by
// attempts x dataset_timeout_ms. A slow answer from a live service (a cold
// download) is not re-sent before its timeout. Failure reasons give the time
// actually waited.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "config/config.h"
#include "schema/data_messages.h"
#include "schema/envelope.h"
#include "schema/result.h"

namespace nightshift {

struct Dataset {
  std::string fingerprint;
  std::string source;
  std::string symbol;
  std::string timeframe;
  bool synthetic = false;
  std::shared_ptr<const Bars> bars;
  bool from_process_cache = false;  // the service answered "unchanged"
  uint64_t bytes_received = 0;      // reply bytes for this request
};

struct DatasetClientStats {
  uint64_t requests = 0;
  uint64_t unchanged = 0;    // answered from this process's cache
  uint64_t host_cache_loads = 0;  // datasets read from fetcher.host_cache_dir
  uint64_t timeouts = 0;     // attempts that got no reply in time
  uint64_t lost = 0;         // attempts whose connection ended first (service restarted)
  uint64_t bytes_received = 0;
};

class DatasetClient {
 public:
  // Timeout and attempts come from config.fetcher (dataset_timeout_ms,
  // dataset_attempts). Connecting never fails because the service is absent.
  DatasetClient(zmq::context_t& context, const config::Config& config, Source self);

  Result<Dataset> request(const DatasetRequest& request);
  // Only the dataset's fingerprint (fingerprint_only): no bars cross the
  // bus, and nothing is kept. What the scheduler's result cache keys on.
  Result<std::string> fingerprint(const DatasetRequest& request);

  const DatasetClientStats& stats() const { return stats_; }

 private:
  Status reconnect();
  void close_socket();
  // True if the monitor reported that a connection ended.
  bool connection_lost();
  Result<std::vector<std::string>> exchange(const std::string& body);
  Result<Dataset> accept(const DatasetRequest& request, DatasetReply reply, uint64_t bytes);
  // The host-local copy: path for a request key; load into cache_; store parts.
  std::string host_cache_path(const std::string& key) const;
  void load_host_cache(const std::string& key);
  void store_host_cache(const std::string& key, const std::vector<std::string>& parts);

  zmq::context_t& context_;
  config::BusConfig bus_;
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
  int attempts_;
  Source self_;
  uint64_t seq_ = 0;
  std::unique_ptr<zmq::socket_t> socket_;
  std::unique_ptr<zmq::socket_t> monitor_;  // PAIR reading socket_'s disconnect events
  uint64_t sockets_made_ = 0;
  std::map<std::string, Dataset> cache_;  // request key -> last dataset
  std::string host_cache_dir_;
  DatasetClientStats stats_;
};

}  // namespace nightshift
