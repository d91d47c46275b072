#include "stages/fetcher/dataset_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "broker/bus.h"
#include "broker/socket_options.h"
#include "broker/zap_handler.h"

namespace nightshift::fetcher {
namespace {

// Frames of one message the front keeps: an envelope of a few hops and the
// two request parts. A longer message is read whole and dropped.
constexpr std::size_t kMaxKeptFrames = 16;

// One message from the front ROUTER: its reply envelope (peer id .. empty
// frame) and the request parts after it.
struct Incoming {
  std::vector<zmq::message_t> frames;  // at most kMaxKeptFrames
  std::size_t count = 0;               // all frames of the message, kept or not
  bool delimited = false;              // an empty frame separated envelope and request
};

Incoming receive(zmq::socket_t& socket) {
  Incoming in;
  zmq::message_t frame;
  bool more = true;
  // The parts of a message arrive together: after the first, no receive waits.
  while (more && socket.recv(frame, zmq::recv_flags::dontwait)) {
    more = frame.more();
    ++in.count;
    if (in.frames.size() >= kMaxKeptFrames) continue;
    // Frame 0 is the peer's id (never empty); the first empty frame after it
    // ends the envelope.
    if (!in.delimited && !in.frames.empty() && frame.size() == 0) in.delimited = true;
    in.frames.push_back(std::move(frame));
  }
  return in;
}

std::string pool_endpoint(const void* service) {
  static std::atomic<uint64_t> counter{0};
  return "inproc://nightshift-dataset-pool-" + std::to_string(++counter) + "-" +
         std::to_string(reinterpret_cast<uintptr_t>(service));
}

}  // namespace

int dataset_pool_size(const config::FetcherConfig& fetcher) {
  if (fetcher.dataset_threads > 0) return fetcher.dataset_threads;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cores, 2, 16);
}

Result<std::unique_ptr<DatasetService>> DatasetService::bind(zmq::context_t& context,
                                                             const config::Config& config,
                                                             DatasetStore& store,
                                                             NoticeSink notices) {
  std::unique_ptr<DatasetService> service(new DatasetService(config, store, std::move(notices)));
  if (config.bus.curve.enabled) {
    // Before the bind: a CURVE socket with no ZAP handler admits every key.
    auto started = bus::ZapHandler::start(context, config.bus);
    if (!started) return started.take_error();
    service->zap_ = std::move(*started);
  }
  // The pool first: the front takes requests only once threads are idle.
  config::BusConfig inproc = config.bus;
  inproc.curve.enabled = false;  // no wire to protect; keys are checked at the front
  const std::string endpoint = pool_endpoint(service.get());
  auto pool = bus::bind_socket(context, zmq::socket_type::router, endpoint, inproc, "dataset-pool");
  if (!pool) return pool.take_error();
  service->pool_.emplace(std::move(*pool));
  const int threads = dataset_pool_size(config.fetcher);
  for (int i = 0; i < threads; ++i) {
    auto reader = MarketCache::open_read_only(config.storage.market_db);
    if (!reader) return reader.take_error();
    service->responders_.push_back(std::make_unique<DatasetResponder>(
        context, endpoint, std::move(*reader), service->shared_));
  }
  auto front = bus::bind_socket(context, zmq::socket_type::router, config.fetcher.dataset_endpoint,
                                config.bus, "dataset");
  if (!front) return front.take_error();
  service->front_.emplace(std::move(*front));
  return service;
}

DatasetService::DatasetService(const config::Config& config, DatasetStore& store,
                               NoticeSink notices)
    : shared_{config.bus, config.fetcher.source, store, {}, std::move(notices),
              bus::self_source("fetcher")} {}

DatasetService::~DatasetService() {
  shared_.stop = true;
  responders_.clear();  // joins: each thread sees `stop` within its poll interval
}

bool DatasetService::serve_one(std::chrono::milliseconds wait) {
  zmq::pollitem_t items[] = {{pool_->handle(), 0, ZMQ_POLLIN, 0},
                             {front_->handle(), 0, ZMQ_POLLIN, 0}};
  // With no idle thread the front is not read: requests wait in its queue
  // rather than behind a busy thread.
  const int count = idle_.empty() ? 1 : 2;
  try {
    if (zmq::poll(items, count, wait) == 0) return false;
    if (items[0].revents & ZMQ_POLLIN) take_replies();
    if (count == 2 && (items[1].revents & ZMQ_POLLIN)) take_request();
  } catch (const zmq::error_t& e) {
    if (e.num() == ETERM || e.num() == EINTR) return false;  // stopping: not bad input
    ++dropped_;
    bad_input_log_.warn(std::string("dataset request: ") + e.what());
  }
  return true;
}

void DatasetService::take_request() {
  Incoming incoming = receive(*front_);
  if (incoming.count == 0) return;
  if (!incoming.delimited || incoming.count > kMaxKeptFrames) {
    ++dropped_;
    // count - 1: the peer's own frames, without the id the ROUTER added.
    bad_input_log_.warn("dropped a dataset request of " + std::to_string(incoming.count - 1) +
                        " frames (expected [envelope][empty][dataset.request][body])");
    return;
  }
  // [thread id][peer id][envelope...][empty][request parts...]
  (void)pool_->send(idle_.front(), zmq::send_flags::sndmore);
  idle_.pop_front();
  for (std::size_t i = 0; i < incoming.frames.size(); ++i) {
    const bool last = i + 1 == incoming.frames.size();
    (void)pool_->send(incoming.frames[i], last ? zmq::send_flags::none : zmq::send_flags::sndmore);
  }
}

void DatasetService::take_replies() {
  // Every message from a thread is [thread id][empty] (ready) or
  // [thread id][peer id]...[reply parts]; either way the thread is idle now.
  zmq::message_t id;
  while (pool_->recv(id, zmq::recv_flags::dontwait)) {
    idle_.push_back(std::move(id));
    zmq::message_t frame;
    if (!pool_->recv(frame, zmq::recv_flags::dontwait)) continue;
    const bool reply = frame.size() > 0;
    // A ROUTER drops what it cannot route (a peer gone, or its queue full),
    // so these sends do not wait, and a vanished peer costs nothing.
    while (true) {
      const bool more = frame.more();
      if (reply) {
        (void)front_->send(frame, more ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                       : zmq::send_flags::dontwait);
      }
      if (!more || !pool_->recv(frame, zmq::recv_flags::dontwait)) break;
    }
  }
}

ServiceStats DatasetService::stats() const {
  ServiceStats stats;
  stats.requests = shared_.requests.load();
  stats.unchanged = shared_.unchanged.load();
  stats.errors = shared_.errors.load();
  stats.fetched = shared_.fetched.load();
  stats.bytes_sent = shared_.bytes_sent.load();
  stats.dropped = dropped_;
  return stats;
}

}  // namespace nightshift::fetcher
