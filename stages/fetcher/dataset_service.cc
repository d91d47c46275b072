#include "stages/fetcher/dataset_service.h"

#include <spdlog/spdlog.h>

#include <cctype>

#include "broker/bus.h"
#include "broker/dataset_protocol.h"
#include "broker/socket_options.h"
#include "broker/zap_handler.h"
#include "schema/codec.h"
#include "base/process.h"

namespace nightshift::fetcher {
namespace {

// Frames of one message the service keeps: an envelope of a few hops and the
// two request parts. The rest of a longer message is read and discarded.
constexpr std::size_t kMaxKeptFrames = 16;

// A market symbol as the sources know them (BTCUSDT, ^GSPC, EURUSD=X,
// BRK-B): it names files (csv) and URLs (yahoo, binance), so nothing that
// could climb out of a folder or into a query string.
bool valid_symbol(const std::string& symbol) {
  if (symbol.empty() || symbol.size() > 32 || symbol[0] == '.') return false;
  for (unsigned char c : symbol) {
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '^' && c != '=' && c != '-') return false;
  }
  return symbol.find("..") == std::string::npos;
}

DatasetReply error_reply(std::string message) {
  DatasetReply reply;
  reply.status = "error";
  reply.error = std::move(message);
  return reply;
}

}  // namespace

Result<DatasetService> DatasetService::bind(zmq::context_t& context, const config::Config& config,
                                            DatasetStore& store, NoticeSink notices) {
  std::unique_ptr<bus::ZapHandler> zap;
  if (config.bus.curve.enabled) {
    // Before the bind: a CURVE socket with no ZAP handler admits every key.
    auto started = bus::ZapHandler::start(context, config.bus);
    if (!started) return started.take_error();
    zap = std::move(*started);
  }
  auto socket = bus::bind_socket(context, zmq::socket_type::router,
                                 config.fetcher.dataset_endpoint, config.bus, "dataset");
  if (!socket) return socket.take_error();
  DatasetService service(std::move(*socket), config, store, std::move(notices));
  service.zap_ = std::move(zap);
  return service;
}

DatasetService::DatasetService(zmq::socket_t socket, const config::Config& config,
                               DatasetStore& store, NoticeSink notices)
    : socket_(std::move(socket)),
      bus_(config.bus),
      default_source_(config.fetcher.source),
      store_(store),
      notices_(std::move(notices)),
      self_(bus::self_source("fetcher")) {}

std::optional<DatasetService::Incoming> DatasetService::receive(std::chrono::milliseconds wait) {
  zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, wait) == 0) return std::nullopt;
  Incoming in;
  zmq::message_t frame;
  bool more = true;
  // The parts of a message arrive together: after the first, no receive waits.
  while (more && socket_.recv(frame, zmq::recv_flags::dontwait)) {
    more = frame.more();
    ++in.frames;
    if (in.envelope.size() + in.parts.size() >= kMaxKeptFrames) continue;
    if (in.delimited) {
      in.parts.emplace_back(frame.data<char>(), frame.size());
    } else {
      // Frame 0 is the peer's id (never empty); the first empty frame after
      // it ends the envelope.
      in.delimited = !in.envelope.empty() && frame.size() == 0;
      in.envelope.push_back(std::move(frame));
    }
  }
  if (in.frames == 0) return std::nullopt;
  return in;
}

void DatasetService::reply(Incoming& incoming, const DatasetReply& reply) {
  Header header;
  header.ts_ns = now_ns();
  header.src = self_;
  header.seq = ++seq_;
  auto encoded = dataset::encode_reply(header, reply, dataset::rows_per_part(bus_));
  for (const auto& p : encoded) stats_.bytes_sent += p.size();
  // A ROUTER drops what it cannot route (a peer gone, or its queue full), so
  // these sends do not wait.
  for (auto& hop : incoming.envelope) {
    if (!socket_.send(hop, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return;
  }
  if (!dataset::send_parts(socket_, DatasetReply::kType, encoded, std::chrono::seconds(5))) {
    spdlog::warn("dataset reply to {} could not be sent", loggable(reply.symbol));
  }
}

bool DatasetService::serve_one(std::chrono::milliseconds wait) {
  try {
    auto incoming = receive(wait);
    if (!incoming) return false;
    if (!incoming->delimited || incoming->frames > kMaxKeptFrames) {
      ++stats_.dropped;
      // frames - 1: the peer's own frames, without the id the ROUTER added.
      bad_input_log_.warn("dropped a dataset request of " + std::to_string(incoming->frames - 1) +
                          " frames (expected [envelope][empty][dataset.request][body])");
      return true;
    }
    ++stats_.requests;
    DatasetReply answered = answer(incoming->parts);
    if (answered.status == "error") ++stats_.errors;
    if (answered.status == "unchanged") ++stats_.unchanged;
    reply(*incoming, answered);
  } catch (const zmq::error_t& e) {
    if (e.num() == ETERM || e.num() == EINTR) return false;  // stopping: not bad input
    ++stats_.dropped;
    bad_input_log_.warn(std::string("dataset request: ") + e.what());
  } catch (const std::exception& e) {
    ++stats_.dropped;
    bad_input_log_.warn(std::string("dataset request: ") + e.what());
  }
  return true;
}

DatasetReply DatasetService::answer(const std::vector<std::string>& parts) {
  if (parts.size() != 2) {
    bad_input_log_.warn("dataset request with " + std::to_string(parts.size()) + " parts");
    return error_reply("expected [dataset.request][body], got " + std::to_string(parts.size()) +
                       " parts");
  }
  const DecodeLimits limits = bus::decode_limits(bus_);
  auto message = decode<DatasetRequest>(parts[1], limits);
  if (!message) {
    bad_input_log_.warn("malformed dataset request: " + message.error());
    return error_reply("malformed dataset request: " + message.error());
  }
  return answer_request(message->payload);
}

DatasetReply DatasetService::answer_request(const DatasetRequest& request) {
  if (!valid_symbol(request.symbol)) {
    bad_input_log_.warn("dataset request for symbol '" + request.symbol.substr(0, 64) +
                        "': not a market symbol");
    return error_reply("symbol '" + loggable(request.symbol.substr(0, 64)) +
                       "' is not a market symbol (1-32 of A-Z a-z 0-9 . _ ^ = -)");
  }
  DatasetQuery query{request.source.empty() ? default_source_ : request.source, request.symbol,
                     request.timeframe, request.start_ts, request.end_ts};
  auto answer = store_.get(query);
  if (!answer) {
    spdlog::warn("dataset {} {} {}: {}", loggable(query.source), query.symbol,
                 loggable(query.timeframe), loggable(answer.error()));
    DatasetReply reply = error_reply(answer.error());
    reply.source = query.source;
    reply.symbol = query.symbol;
    reply.timeframe = query.timeframe;
    return reply;
  }
  if (answer->rows_stored > 0 && notices_) {
    notices_(DataNotice{"ready", query.source, query.symbol, query.timeframe,
                        answer->rows_stored, answer->report.summary()});
  }
  DatasetReply reply;
  reply.status = "ok";
  reply.fingerprint = dataset::fingerprint(answer->bars);
  reply.source = query.source;
  reply.symbol = query.symbol;
  reply.timeframe = query.timeframe;
  reply.synthetic = answer->synthetic;
  if (request.fingerprint_only.value_or(false)) {
    reply.status = "fingerprint";  // the scheduler's result cache: no bars wanted
  } else if (request.have_fingerprint && *request.have_fingerprint == reply.fingerprint) {
    reply.status = "unchanged";  // the requester holds these bars already
  } else {
    reply.bars = std::move(answer->bars);
  }
  spdlog::debug("dataset {} {} {}: {} rows, {} fetches, {}", loggable(query.source), query.symbol,
                loggable(query.timeframe), reply.bars.size(), answer->fetches, reply.status);
  return reply;
}

}  // namespace nightshift::fetcher
