#include "broker/dataset_client.h"

#include "broker/bus.h"
#include "broker/dataset_protocol.h"
#include "broker/socket_options.h"
#include "schema/codec.h"
#include "base/process.h"

namespace nightshift {

DatasetClient::DatasetClient(zmq::context_t& context, const config::Config& config, Source self)
    : context_(context),
      bus_(config.bus),
      endpoint_(config.fetcher.dataset_endpoint),
      timeout_(config.fetcher.dataset_timeout_ms),
      attempts_(config.fetcher.dataset_attempts),
      self_(std::move(self)) {}

Status DatasetClient::reconnect() {
  socket_.reset();
  auto socket = bus::connect_socket(context_, zmq::socket_type::req, endpoint_, bus_);
  if (!socket) return socket.take_error();
  socket_ = std::make_unique<zmq::socket_t>(std::move(*socket));
  return Status::success();
}

Result<std::vector<std::string>> DatasetClient::exchange(const std::string& body) {
  for (int attempt = 1; attempt <= attempts_; ++attempt) {
    if (!socket_) {
      if (Status s = reconnect(); !s) return s.take_error();
    }
    if (dataset::send_parts(*socket_, DatasetRequest::kType, {body}, timeout_)) {
      if (auto parts = dataset::receive_parts(*socket_, timeout_)) return std::move(*parts);
    }
    // No reply: this REQ socket now waits forever for it. Start over with a new one.
    ++stats_.timeouts;
    socket_.reset();
    if (stop_requested()) break;
  }
  return make_error("dataset service at " + endpoint_ + " did not answer within " +
                    std::to_string(timeout_.count()) + " ms (" + std::to_string(attempts_) +
                    " attempts)");
}

Result<Dataset> DatasetClient::request(const DatasetRequest& original) {
  ++stats_.requests;
  const std::string key = dataset::request_key(original);
  auto cached = cache_.find(key);
  // Built field by field: the caller's have_fingerprint is ours to decide.
  DatasetRequest request{original.source, original.symbol, original.timeframe,
                         original.start_ts, original.end_ts, std::nullopt};
  if (cached != cache_.end()) request.have_fingerprint.emplace(cached->second.fingerprint);

  Header header;
  header.ts_ns = now_ns();
  header.src = self_;
  header.seq = ++seq_;
  auto parts = exchange(encode(header, request));
  if (!parts) return parts.take_error();
  uint64_t bytes = 0;
  for (const auto& p : *parts) bytes += p.size();
  stats_.bytes_received += bytes;
  if (parts->size() < 2 || (*parts)[0] != DatasetReply::kType) {
    return make_error("dataset service sent a reply that is not a dataset.reply");
  }
  const DecodeLimits limits = bus::decode_limits(bus_);
  auto reply = dataset::decode_reply({parts->begin() + 1, parts->end()}, limits);
  if (!reply) return reply.take_error();
  return accept(request, std::move(*reply), bytes);
}

Result<Dataset> DatasetClient::accept(const DatasetRequest& request, DatasetReply reply,
                                      uint64_t bytes) {
  const std::string key = dataset::request_key(request);
  if (reply.status == "error") return make_error("dataset service: " + reply.error);
  if (reply.status == "unchanged") {
    auto cached = cache_.find(key);
    if (cached == cache_.end() || cached->second.fingerprint != reply.fingerprint) {
      return make_error("dataset service answered 'unchanged' for a dataset this process lacks");
    }
    ++stats_.unchanged;
    Dataset out = cached->second;
    out.from_process_cache = true;
    out.bytes_received = bytes;
    return out;
  }
  if (reply.status != "ok") return make_error("dataset service: unknown status '" + reply.status + "'");
  Dataset out;
  out.fingerprint = reply.fingerprint;
  out.source = reply.source;
  out.symbol = reply.symbol;
  out.timeframe = reply.timeframe;
  out.synthetic = reply.synthetic;
  out.bars = std::make_shared<const Bars>(std::move(reply.bars));
  out.bytes_received = bytes;
  cache_[key] = out;
  return out;
}

}  // namespace nightshift
