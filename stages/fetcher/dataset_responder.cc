#include "stages/fetcher/dataset_responder.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>

#include "base/process.h"
#include "broker/bus.h"
#include "broker/dataset_protocol.h"
#include "broker/socket_options.h"
#include "schema/codec.h"

namespace nightshift::fetcher {
namespace {

using namespace std::chrono_literals;

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

// One request as the front forwards it: the envelope up to and including
// the empty delimiter, then the request parts.
struct Request {
  std::vector<zmq::message_t> envelope;
  std::vector<std::string> parts;
  bool delimited = false;
};

Request receive_request(zmq::socket_t& socket) {
  Request request;
  zmq::message_t frame;
  bool more = true;
  while (more && socket.recv(frame, zmq::recv_flags::dontwait)) {
    more = frame.more();
    if (request.delimited) {
      request.parts.emplace_back(frame.data<char>(), frame.size());
    } else {
      request.delimited = !request.envelope.empty() && frame.size() == 0;
      request.envelope.push_back(std::move(frame));
    }
  }
  return request;
}

}  // namespace

DatasetResponder::DatasetResponder(zmq::context_t& context, const std::string& pool_endpoint,
                                   MarketCache reader, ResponderShared& shared)
    : reader_(std::move(reader)),
      shared_(shared),
      thread_([this, &context, pool_endpoint] { run(context, pool_endpoint); }) {}

DatasetResponder::~DatasetResponder() {
  if (thread_.joinable()) thread_.join();
}

void DatasetResponder::run(zmq::context_t& context, const std::string& pool_endpoint) {
  // inproc: no wire, so no CURVE; the front's socket is where keys are checked.
  config::BusConfig inproc = shared_.bus;
  inproc.curve.enabled = false;
  auto socket = bus::connect_socket(context, zmq::socket_type::dealer, pool_endpoint, inproc);
  if (!socket) {
    spdlog::error("dataset pool thread: {}", socket.error());
    return;
  }
  try {
    (void)socket->send(zmq::message_t(), zmq::send_flags::none);  // ready
    while (!shared_.stop.load()) {
      zmq::pollitem_t item{socket->handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, 200ms) == 0) continue;
      Request request = receive_request(*socket);
      if (!request.delimited) {  // the front forwards only enveloped requests
        (void)socket->send(zmq::message_t(), zmq::send_flags::none);
        continue;
      }
      DatasetReply reply;
      try {
        reply = answer(request.parts);
      } catch (const std::exception& e) {
        bad_input_log_.warn(std::string("dataset request: ") + e.what());
        reply = error_reply(std::string("dataset request failed: ") + e.what());
      }
      ++shared_.requests;
      if (reply.status == "error") ++shared_.errors;
      if (reply.status == "unchanged") ++shared_.unchanged;
      Header header;
      header.ts_ns = now_ns();
      header.src = shared_.self;
      header.seq = ++shared_.seq;
      auto encoded = dataset::encode_reply(header, reply, dataset::rows_per_part(shared_.bus));
      for (const auto& p : encoded) shared_.bytes_sent += p.size();
      for (auto& hop : request.envelope) (void)socket->send(hop, zmq::send_flags::sndmore);
      if (!dataset::send_parts(*socket, DatasetReply::kType, encoded, 5s)) {
        spdlog::warn("dataset reply to {} could not be handed to the front", loggable(reply.symbol));
      }
    }
  } catch (const zmq::error_t& e) {
    if (e.num() != ETERM) spdlog::error("dataset pool thread stopped: {}", e.what());
  }
}

DatasetReply DatasetResponder::answer(const std::vector<std::string>& parts) {
  if (parts.size() != 2) {
    bad_input_log_.warn("dataset request with " + std::to_string(parts.size()) + " parts");
    return error_reply("expected [dataset.request][body], got " + std::to_string(parts.size()) +
                       " parts");
  }
  const DecodeLimits limits = bus::decode_limits(shared_.bus);
  auto message = decode<DatasetRequest>(parts[1], limits);
  if (!message) {
    bad_input_log_.warn("malformed dataset request: " + message.error());
    return error_reply("malformed dataset request: " + message.error());
  }
  return answer_request(message->payload);
}

DatasetReply DatasetResponder::answer_request(const DatasetRequest& request) {
  if (!valid_symbol(request.symbol)) {
    bad_input_log_.warn("dataset request for symbol '" + request.symbol.substr(0, 64) +
                        "': not a market symbol");
    return error_reply("symbol '" + loggable(request.symbol.substr(0, 64)) +
                       "' is not a market symbol (1-32 of A-Z a-z 0-9 . _ ^ = -)");
  }
  DatasetQuery query{request.source.empty() ? shared_.default_source : request.source,
                     request.symbol, request.timeframe, request.start_ts, request.end_ts};
  DatasetReply reply;
  reply.source = query.source;
  reply.symbol = query.symbol;
  reply.timeframe = query.timeframe;
  auto answer = [&]() -> Result<DatasetAnswer> {
    auto resolved = shared_.store.resolve(query);
    if (!resolved) return resolved.take_error();
    auto cached = shared_.store.get_cached(reader_, *resolved);
    if (!cached) return cached.take_error();
    if (*cached) return std::move(**cached);
    // A fetch: one at a time, through the writer connection. The store looks
    // at the coverage again, so a fetch another thread just made is not repeated.
    std::lock_guard lock(shared_.fetch_lock);
    ++shared_.fetched;
    auto fetched = shared_.store.get(*resolved);
    if (fetched && fetched->rows_stored > 0 && shared_.notices) {
      shared_.notices(DataNotice{"ready", query.source, query.symbol, query.timeframe,
                                 fetched->rows_stored, fetched->report.summary()});
    }
    return fetched;
  }();
  if (!answer) {
    spdlog::warn("dataset {} {} {}: {}", loggable(query.source), query.symbol,
                 loggable(query.timeframe), loggable(answer.error()));
    reply.status = "error";
    reply.error = answer.error();
    return reply;
  }
  reply.status = "ok";
  reply.fingerprint = dataset::fingerprint(answer->bars);
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
