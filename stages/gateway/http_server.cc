#include "stages/gateway/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>
#include <set>

namespace nightshift::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t kMaxTopics = 32;
constexpr std::size_t kMaxTopicBytes = 256;
constexpr auto kSlowClientGrace = std::chrono::seconds(2);
constexpr int kStreamSendBufferBytes = 64 * 1024;

std::string_view view(beast::string_view text) { return {text.data(), text.size()}; }

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category();
}

// "telemetry.,alert." -> prefixes; an error for more than kMaxTopics or an
// entry over kMaxTopicBytes.
Result<std::vector<std::string>> topic_prefixes(const Target& target) {
  std::vector<std::string> out;
  auto it = target.query.find("topics");
  if (it == target.query.end()) return std::vector<std::string>{""};
  std::string_view rest = it->second;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view one = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (one.empty()) continue;
    if (one.size() > kMaxTopicBytes) return make_error(ErrorKind::invalid_input, "a topic prefix is over 256 bytes");
    out.emplace_back(one);
  }
  if (out.empty()) return make_error(ErrorKind::invalid_input, "topics is empty; e.g. ?topics=telemetry.,alert.");
  if (out.size() > kMaxTopics) return make_error(ErrorKind::invalid_input, "at most 32 topic prefixes");
  return out;
}

}  // namespace

class WsSession;

struct Server::Impl {
  Impl(Api& api_, ServerLimits limits_, StreamCounters& streams_)
      : api(api_), limits(limits_), streams(streams_) {}
  Api& api;
  ServerLimits limits;
  StreamCounters& streams;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::atomic<std::size_t> http_connections{0};
  std::set<std::shared_ptr<WsSession>> clients;  // io thread only
  std::atomic<int> frame_clients{0};
  std::atomic<int> gpu_clients{0};

  void accept();
};

class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket socket, Server::Impl& server, bool gpu, std::vector<std::string> prefixes)
      : ws_(std::move(socket)), kill_timer_(ws_.get_executor()), server_(server), gpu_(gpu),
        prefixes_(std::move(prefixes)) {}

  void run(http::request<http::string_body> request) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(4096);
    ws_.async_accept(request, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->open_ = true;
      self->server_.clients.insert(self);
      ++self->server_.streams.clients;
      ++(self->gpu_ ? self->server_.gpu_clients : self->server_.frame_clients);
      self->read();
    });
  }

  void offer(const StreamMessage& message) {
    if (!open_ || closing_) return;
    if (gpu_) {
      if (message.gpu_json) send(message.gpu_json);
      return;
    }
    if (!message.frame_json) return;
    for (const auto& prefix : prefixes_) {
      if (message.topic.compare(0, prefix.size(), prefix) == 0) return send(message.frame_json);
    }
  }

 private:
  void read() {
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec) return self->finish();
      self->in_.consume(n);  // clients have nothing to say; what they send is read and dropped
      self->read();
    });
  }

  void send(const std::shared_ptr<const std::string>& text) {
    auto size = static_cast<int64_t>(text->size());
    if (queued_bytes_ + size > server_.limits.ws_client_buffer_bytes) return overflow();
    queue_.push_back(text);
    queued_bytes_ += size;
    ++server_.streams.messages;
    if (!writing_) write_next();
  }

  void write_next() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(*queue_.front()),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (ec) return self->finish();
                      self->queued_bytes_ -= static_cast<int64_t>(self->queue_.front()->size());
                      self->queue_.pop_front();
                      if (self->closing_) return self->close_slow();
                      if (!self->queue_.empty()) self->write_next();
                    });
  }

  // The client is a whole buffer behind: free the queue (all but a message
  // being written), send close 1008 once the socket takes it, and cut the
  // connection if it does not within kSlowClientGrace.
  void overflow() {
    closing_ = true;
    ++server_.streams.dropped;
    spdlog::info("websocket client dropped: over {} bytes behind", server_.limits.ws_client_buffer_bytes);
    while (queue_.size() > (writing_ ? 1u : 0u)) {
      queued_bytes_ -= static_cast<int64_t>(queue_.back()->size());
      queue_.pop_back();
    }
    kill_timer_.expires_after(kSlowClientGrace);
    kill_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      beast::get_lowest_layer(self->ws_).close();
      self->finish();
    });
    if (!writing_) close_slow();
  }

  void close_slow() {
    ws_.async_close(websocket::close_reason(websocket::close_code::policy_error, "client too slow"),
                    [self = shared_from_this()](beast::error_code) { self->finish(); });
  }

  void finish() {
    if (!open_) return;
    open_ = false;
    kill_timer_.cancel();
    queue_.clear();
    --server_.streams.clients;
    --(gpu_ ? server_.gpu_clients : server_.frame_clients);
    server_.clients.erase(shared_from_this());
  }

  websocket::stream<beast::tcp_stream> ws_;
  net::steady_timer kill_timer_;
  Server::Impl& server_;
  bool gpu_;
  std::vector<std::string> prefixes_;
  beast::flat_buffer in_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  int64_t queued_bytes_ = 0;
  bool open_ = false;
  bool writing_ = false;
  bool closing_ = false;
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, Server::Impl& server)
      : stream_(std::move(socket)),
        buffer_(server.limits.header_bytes + server.limits.body_bytes),
        server_(server) {
    ++server_.http_connections;
  }
  ~HttpSession() { --server_.http_connections; }

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.limits.header_bytes));
    parser_->body_limit(server_.limits.body_bytes);
    stream_.expires_after(std::chrono::seconds(server_.limits.request_timeout_s));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      // Garbage, a header or body over its limit: say so once, then hang up.
      if (is_parse_error(ec) || ec == http::error::buffer_overflow) {
        int status = ec == http::error::header_limit ? 431 : ec == http::error::body_limit ? 413 : 400;
        return reply(error_response(status, "bad request: " + ec.message()), false, 11);
      }
      return close();
    }
    auto& request = parser_->get();
    if (websocket::is_upgrade(request)) return upgrade();
    Response response = server_.api.handle(view(request.method_string()), view(request.target()),
                                           view(request[http::field::authorization]));
    reply(std::move(response), request.keep_alive(), request.version());
  }

  void upgrade() {
    auto& request = parser_->get();
    auto target = parse_target(view(request.target()));
    if (!target) return reply(error_response(400, target.error()), false, request.version());
    if (!server_.api.authorized(view(request[http::field::authorization]), *target)) {
      return reply(error_response(401, "this gateway needs a token"), false, request.version());
    }
    bool gpu = target->path == "/ws/gpu-stats";
    if (!gpu && target->path != "/ws") return reply(error_response(404, "no such stream"), false, request.version());
    auto prefixes = topic_prefixes(*target);
    if (!prefixes) return reply(error_response(400, prefixes.error()), false, request.version());
    if (server_.clients.size() >= server_.limits.max_connections) {
      return reply(error_response(503, "too many stream clients"), false, request.version());
    }
    stream_.expires_never();
    // The kernel's send buffer holds what a slow client has not read, in
    // front of our queue; keep it small so that the cap is what bounds it.
    beast::error_code ignored;
    stream_.socket().set_option(net::socket_base::send_buffer_size(kStreamSendBufferBytes), ignored);
    auto session = std::make_shared<WsSession>(stream_.release_socket(), server_, gpu,
                                               std::move(*prefixes));
    session->run(parser_->release());
  }

  void reply(Response response, bool keep_alive, unsigned version) {
    response_ = {};
    response_.version(version);
    response_.result(static_cast<http::status>(response.status));
    response_.set(http::field::server, "nightshift");
    response_.set(http::field::content_type, response.content_type);
    response_.set(http::field::cache_control, response.cacheable ? "max-age=60" : "no-store");
    response_.set("X-Content-Type-Options", "nosniff");
    if (response.status == 401) response_.set(http::field::www_authenticate, "Bearer");
    response_.keep_alive(keep_alive);
    response_.body() = std::move(response.body);
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec || !self->response_.keep_alive()) return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  Server::Impl& server_;
};

void Server::Impl::accept() {
  acceptor.async_accept(ioc, [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) {
      if (http_connections.load() >= limits.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);  // at the limit: new connections are turned away at once
      } else {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<HttpSession>(std::move(socket), *this)->start();
      }
    }
    accept();
  });
}

Server::Server(Api& api, ServerLimits limits, StreamCounters& streams)
    : impl_(std::make_unique<Impl>(api, limits, streams)) {}

Server::~Server() = default;

Status Server::listen(const std::string& address, int port) {
  beast::error_code ec;
  auto ip = net::ip::make_address(address, ec);
  if (ec) return make_error(ErrorKind::invalid_input, "dashboard.bind: '" + address + "' is not an IP address");
  tcp::endpoint endpoint(ip, static_cast<unsigned short>(port));
  std::string where = address + ":" + std::to_string(port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return make_error(ErrorKind::unavailable, "cannot listen on " + where + ": " + ec.message());
  return Status::success();
}

void Server::run() {
  impl_->accept();
  impl_->ioc.run();
}

void Server::stop() { impl_->ioc.stop(); }

void Server::broadcast(StreamMessage message) {
  net::post(impl_->ioc, [impl = impl_.get(), message = std::move(message)] {
    for (const auto& client : std::vector<std::shared_ptr<WsSession>>(impl->clients.begin(),
                                                                      impl->clients.end())) {
      client->offer(message);
    }
  });
}

bool Server::wants_frames() const { return impl_->frame_clients.load() > 0; }
bool Server::wants_gpu() const { return impl_->gpu_clients.load() > 0; }

}  // namespace nightshift::gateway
