#include "broker/dataset_client.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "broker/bus.h"
#include "broker/dataset_protocol.h"
#include "broker/socket_options.h"
#include "schema/codec.h"
#include "base/private_dir.h"
#include "base/process.h"

namespace nightshift {

DatasetClient::DatasetClient(zmq::context_t& context, const config::Config& config, Source self)
    : context_(context),
      bus_(config.bus),
      endpoint_(config.fetcher.dataset_endpoint),
      timeout_(config.fetcher.dataset_timeout_ms),
      attempts_(config.fetcher.dataset_attempts),
      self_(std::move(self)),
      host_cache_dir_(config.fetcher.host_cache_dir) {}

namespace {

using SteadyClock = std::chrono::steady_clock;
// Reconnections after lost connections within one request, at most: a
// service that dies on every request is an error, not something to wait out.
constexpr int kMaxLost = 20;
constexpr auto kLostPause = std::chrono::milliseconds(50);

std::chrono::milliseconds until(SteadyClock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

}  // namespace

void DatasetClient::close_socket() {
  if (socket_) zmq_socket_monitor(socket_->handle(), nullptr, 0);
  monitor_.reset();
  socket_.reset();
}

Status DatasetClient::reconnect() {
  close_socket();
  auto socket = bus::connect_socket(context_, zmq::socket_type::req, endpoint_, bus_);
  if (!socket) return socket.take_error();
  socket_ = std::make_unique<zmq::socket_t>(std::move(*socket));
  // The monitor is best effort: without it a lost connection costs a timeout.
  std::string address = fmt::format("inproc://dataset-client-{}-{}", static_cast<void*>(this),
                                    ++sockets_made_);
  if (zmq_socket_monitor(socket_->handle(), address.c_str(), ZMQ_EVENT_DISCONNECTED) == 0) {
    try {
      monitor_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::pair);
      monitor_->set(zmq::sockopt::linger, 0);
      monitor_->connect(address);
    } catch (const zmq::error_t&) {
      monitor_.reset();
    }
  }
  return Status::success();
}

bool DatasetClient::connection_lost() {
  if (!monitor_) return false;
  bool lost = false;
  try {
    zmq::message_t event;
    while (monitor_->recv(event, zmq::recv_flags::dontwait)) {
      uint16_t id = 0;
      if (event.size() >= sizeof(id)) std::memcpy(&id, event.data(), sizeof(id));
      while (event.more() && monitor_->recv(event, zmq::recv_flags::dontwait)) {
      }
      lost = lost || id == ZMQ_EVENT_DISCONNECTED;
    }
  } catch (const zmq::error_t&) {
  }
  return lost;
}

Result<std::vector<std::string>> DatasetClient::exchange(const std::string& body) {
  const auto began = SteadyClock::now();
  const auto overall = began + timeout_ * attempts_;
  int timeouts = 0, lost = 0;
  while (timeouts < attempts_ && SteadyClock::now() < overall && !stop_requested()) {
    if (!socket_) {
      if (Status s = reconnect(); !s) return s.take_error();
    }
    (void)connection_lost();  // an old connection's end says nothing about this request
    const auto deadline = std::min(SteadyClock::now() + timeout_, overall);
    bool dropped = false;
    if (dataset::send_parts(*socket_, DatasetRequest::kType, {body}, until(deadline))) {
      while (!dropped && SteadyClock::now() < deadline) {
        std::vector<zmq::pollitem_t> items{{socket_->handle(), 0, ZMQ_POLLIN, 0}};
        if (monitor_) items.push_back({monitor_->handle(), 0, ZMQ_POLLIN, 0});
        try {
          zmq::poll(items.data(), items.size(), until(deadline));
        } catch (const zmq::error_t&) {
          break;  // EINTR: a stop signal; the loop condition decides
        }
        if (items[0].revents & ZMQ_POLLIN) {
          if (auto parts = dataset::receive_parts(*socket_, std::chrono::milliseconds(0))) {
            return std::move(*parts);
          }
        }
        if (items.size() > 1 && (items[1].revents & ZMQ_POLLIN)) dropped = connection_lost();
        if (stop_requested()) break;
      }
    }
    // No reply on this REQ socket, which now waits forever for it: start
    // over with a new one.
    close_socket();
    if (dropped) {
      ++stats_.lost;
      if (++lost > kMaxLost) break;
      std::this_thread::sleep_for(kLostPause);
    } else {
      ++stats_.timeouts;
      ++timeouts;
    }
  }
  double waited_s = std::chrono::duration<double>(SteadyClock::now() - began).count();
  return make_error(fmt::format(
      "dataset service at {} did not answer: waited {:.1f} s ({} timed out after {} ms, {} lost "
      "connection{})",
      endpoint_, waited_s, timeouts, timeout_.count(), lost, lost == 1 ? "" : "s"));
}

Result<Dataset> DatasetClient::request(const DatasetRequest& original) {
  ++stats_.requests;
  const std::string key = dataset::request_key(original);
  if (!cache_.count(key) && !host_cache_dir_.empty()) load_host_cache(key);
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
  bool fresh = reply->status == "ok";
  auto accepted = accept(request, std::move(*reply), bytes);
  if (accepted && fresh && !host_cache_dir_.empty()) store_host_cache(key, *parts);
  return accepted;
}

Result<std::string> DatasetClient::fingerprint(const DatasetRequest& original) {
  ++stats_.requests;
  DatasetRequest request{original.source, original.symbol, original.timeframe,
                         original.start_ts, original.end_ts, std::nullopt, true};
  Header header;
  header.ts_ns = now_ns();
  header.src = self_;
  header.seq = ++seq_;
  auto parts = exchange(encode(header, request));
  if (!parts) return parts.take_error();
  for (const auto& p : *parts) stats_.bytes_received += p.size();
  if (parts->size() < 2 || (*parts)[0] != DatasetReply::kType) {
    return make_error("dataset service sent a reply that is not a dataset.reply");
  }
  auto reply = dataset::decode_reply({parts->begin() + 1, parts->end()}, bus::decode_limits(bus_));
  if (!reply) return reply.take_error();
  if (reply->status == "error") return make_error("dataset service: " + reply->error);
  // "ok" is what a service that predates fingerprint_only answers (bars included).
  if ((reply->status != "fingerprint" && reply->status != "ok") || reply->fingerprint.empty()) {
    return make_error("dataset service: no fingerprint in a '" + reply->status + "' reply");
  }
  return std::move(reply->fingerprint);
}

std::string DatasetClient::host_cache_path(const std::string& key) const {
  uint64_t hash = 1469598103934665603ull;  // FNV-1a: a file name, not a check
  for (unsigned char c : key) hash = (hash ^ c) * 1099511628211ull;
  return fmt::format("{}/{:016x}.dataset", host_cache_dir_, hash);
}

// File: the request key, then the reply parts, each as [u64 length][bytes].
void DatasetClient::load_host_cache(const std::string& key) {
  std::ifstream in(host_cache_path(key), std::ios::binary);
  if (!in) return;
  auto read_part = [&in](std::string& out) {
    uint64_t size = 0;
    if (!in.read(reinterpret_cast<char*>(&size), sizeof(size)) || size > (uint64_t{1} << 31)) {
      return false;
    }
    out.resize(size);
    return static_cast<bool>(in.read(out.data(), static_cast<std::streamsize>(size)));
  };
  std::string stored_key;
  if (!read_part(stored_key) || stored_key != key) return;
  std::vector<std::string> parts;
  for (std::string part; read_part(part);) parts.push_back(std::move(part));
  if (parts.empty()) return;
  auto reply = dataset::decode_reply(parts, bus::decode_limits(bus_));
  if (!reply || reply->status != "ok") {
    spdlog::warn("host dataset cache {}: unreadable; asking the service", host_cache_path(key));
    return;
  }
  Dataset out;
  out.fingerprint = reply->fingerprint;
  out.source = reply->source;
  out.symbol = reply->symbol;
  out.timeframe = reply->timeframe;
  out.synthetic = reply->synthetic;
  out.bars = std::make_shared<const Bars>(std::move(reply->bars));
  cache_[key] = std::move(out);
  ++stats_.host_cache_loads;
}

void DatasetClient::store_host_cache(const std::string& key,
                                     const std::vector<std::string>& parts) {
  if (std::string why = make_private_dir(host_cache_dir_); !why.empty()) {
    spdlog::warn("host dataset cache {}: {}", host_cache_dir_, why);
    return;
  }
  // Written whole under a name of ours, then renamed: a worker reading at
  // the same moment sees the old file or the new one, never half of one.
  std::string path = host_cache_path(key);
  std::string partial = path + "." + std::to_string(getpid()) + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    auto write_part = [&out](std::string_view part) {
      uint64_t size = part.size();
      out.write(reinterpret_cast<const char*>(&size), sizeof(size));
      out.write(part.data(), static_cast<std::streamsize>(part.size()));
    };
    write_part(key);
    for (std::size_t i = 1; i < parts.size(); ++i) write_part(parts[i]);  // [0] is the type
    if (!out) {
      std::remove(partial.c_str());
      return;
    }
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) std::remove(partial.c_str());
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
