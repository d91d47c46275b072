// A real HTTP server on 127.0.0.1 for source tests (cpp-httplib), recording
// every request it receives with its arrival time.
#pragma once

#include <httplib.h>
#include <netinet/tcp.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace nightshift::fetcher::testing {

struct SeenRequest {
  std::string path;
  httplib::Params params;
  std::string cookie;
  std::chrono::steady_clock::time_point at;

  std::string param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? "" : it->second;
  }
};

class LocalHttpServer {
 public:
  LocalHttpServer() {
    server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response&) {
      std::lock_guard<std::mutex> lock(mutex_);
      seen_.push_back({req.path, req.params, req.get_header_value("Cookie"),
                       std::chrono::steady_clock::now()});
      return httplib::Server::HandlerResponse::Unhandled;
    });
    // Like production servers, no Nagle delay between headers and body
    // (accepted sockets inherit TCP_NODELAY from the listening socket).
    server_.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
      setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LocalHttpServer() {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }

  httplib::Server& server() { return server_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  bool stopping() const { return stopping_; }

  std::vector<SeenRequest> seen() {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }
  std::size_t count(const std::string& path_prefix) {
    std::size_t n = 0;
    for (const auto& r : seen()) n += r.path.rfind(path_prefix, 0) == 0;
    return n;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<SeenRequest> seen_;
  std::atomic<bool> stopping_{false};
};

inline std::string fixture(const std::string& name) {
  std::ifstream in(std::string(FETCHER_FIXTURES) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace nightshift::fetcher::testing
