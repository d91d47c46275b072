// The gateway's server on Boost.Beast: one io_context, HTTP/1.1 with
// keep-alive, WebSocket upgrades on /ws and /ws/gpu-stats. Every limit that
// a hostile client could push against is explicit: header bytes, body
// bytes, time to send a request, connections at once, bytes queued for one
// WebSocket client.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "schema/result.h"
#include "stages/gateway/api.h"

namespace nightshift::gateway {

struct ServerLimits {
  std::size_t header_bytes = 8 * 1024;
  std::size_t body_bytes = 4 * 1024;
  int request_timeout_s = 10;  // a request must arrive whole within this (slowloris)
  std::size_t max_connections = 1024;
  int64_t ws_client_buffer_bytes = 1 << 20;
};

// What the bus side hands the WebSocket clients: a message of `topic`,
// rendered once for every client that wants it.
struct StreamMessage {
  std::string topic;
  std::shared_ptr<const std::string> frame_json;  // /ws: as `subscribe --json`
  std::shared_ptr<const std::string> gpu_json;    // /ws/gpu-stats; null unless a GPU sample
};

class Server {
 public:
  Server(Api& api, ServerLimits limits, StreamCounters& streams);
  ~Server();
  // Binds and listens; an error names the address.
  Status listen(const std::string& address, int port);
  // Serves on the calling thread until stop(). One thread: the sessions and
  // the set of WebSocket clients are touched only from it, without locks.
  void run();
  void stop();
  // Thread-safe: queues `message` for every WebSocket client that wants it.
  void broadcast(StreamMessage message);
  // Whether any client wants frames (/ws) or GPU stats (/ws/gpu-stats).
  bool wants_frames() const;
  bool wants_gpu() const;

  struct Impl;  // the io_context, acceptor and sessions (http_server.cc)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace nightshift::gateway
