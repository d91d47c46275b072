#include "stages/fetcher/dataset_service.h"

#include <spdlog/spdlog.h>

#include "broker/bus.h"
#include "broker/dataset_protocol.h"
#include "broker/socket_options.h"
#include "schema/codec.h"
#include "base/process.h"

namespace nightshift::fetcher {
namespace {

DatasetReply error_reply(std::string message) {
  DatasetReply reply;
  reply.status = "error";
  reply.error = std::move(message);
  return reply;
}

}  // namespace

Result<DatasetService> DatasetService::bind(zmq::context_t& context, const config::Config& config,
                                            DatasetStore& store, NoticeSink notices) {
  auto socket = bus::bind_socket(context, zmq::socket_type::rep, config.fetcher.dataset_endpoint,
                                 config.bus);
  if (!socket) return socket.take_error();
  return DatasetService(std::move(*socket), config, store, std::move(notices));
}

DatasetService::DatasetService(zmq::socket_t socket, const config::Config& config,
                               DatasetStore& store, NoticeSink notices)
    : socket_(std::move(socket)),
      bus_(config.bus),
      default_source_(config.fetcher.source),
      store_(store),
      notices_(std::move(notices)),
      self_(bus::self_source("fetcher")) {}

bool DatasetService::serve_one(std::chrono::milliseconds wait) {
  auto parts = dataset::receive_parts(socket_, wait);
  if (!parts) return false;
  ++stats_.requests;
  DatasetReply reply = answer(*parts);
  if (reply.status == "error") ++stats_.errors;
  if (reply.status == "unchanged") ++stats_.unchanged;
  Header header;
  header.ts_ns = now_ns();
  header.src = self_;
  header.seq = ++seq_;
  auto encoded = dataset::encode_reply(header, reply, dataset::rows_per_part(bus_));
  for (const auto& p : encoded) stats_.bytes_sent += p.size();
  if (!dataset::send_parts(socket_, DatasetReply::kType, encoded, std::chrono::seconds(5))) {
    spdlog::warn("dataset reply to {} could not be sent", reply.symbol);
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
  DatasetQuery query{request.source.empty() ? default_source_ : request.source, request.symbol,
                     request.timeframe, request.start_ts, request.end_ts};
  auto answer = store_.get(query);
  if (!answer) {
    spdlog::warn("dataset {} {} {}: {}", query.source, query.symbol, query.timeframe,
                 answer.error());
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
  if (request.have_fingerprint && *request.have_fingerprint == reply.fingerprint) {
    reply.status = "unchanged";  // the requester holds these bars already
  } else {
    reply.bars = std::move(answer->bars);
  }
  spdlog::debug("dataset {} {} {}: {} rows, {} fetches, {}", query.source, query.symbol,
                query.timeframe, reply.bars.size(), answer->fetches, reply.status);
  return reply;
}

}  // namespace nightshift::fetcher
