#include "broker/dataset_protocol.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace nightshift::dataset {
namespace {

struct Fnv128 {
  uint64_t a = 0xcbf29ce484222325ull;
  uint64_t b = 0x84222325cbf29ce4ull;
  void add(const void* data, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
      a = (a ^ p[i]) * 0x100000001b3ull;
      b = (b ^ p[i]) * 0x100000001b3ull;
      b ^= b >> 29;
    }
  }
  template <typename T>
  void add_column(const std::vector<T>& column) {
    add(column.data(), column.size() * sizeof(T));
  }
};

}  // namespace

std::string fingerprint(const Bars& bars) {
  Fnv128 h;
  uint64_t rows = bars.ts.size();
  h.add(&rows, sizeof(rows));
  h.add_column(bars.ts);
  h.add_column(bars.open);
  h.add_column(bars.high);
  h.add_column(bars.low);
  h.add_column(bars.close);
  h.add_column(bars.volume);
  char hex[33];
  std::snprintf(hex, sizeof(hex), "%016llx%016llx", static_cast<unsigned long long>(h.a),
                static_cast<unsigned long long>(h.b));
  return hex;
}

std::string request_key(const DatasetRequest& r) {
  return r.source + "|" + r.symbol + "|" + r.timeframe + "|" + std::to_string(r.start_ts) + "|" +
         std::to_string(r.end_ts);
}

std::size_t rows_per_part(const config::BusConfig& bus) {
  auto by_size = static_cast<std::size_t>(bus.max_message_bytes) / 64;
  return std::clamp<std::size_t>(by_size, 1, 200'000);
}

std::vector<std::string> encode_reply(const Header& header, const DatasetReply& reply,
                                      std::size_t rows_per_part) {
  const std::size_t rows = reply.bars.size();
  const std::size_t per = std::max<std::size_t>(rows_per_part, 1);
  const uint32_t chunks = rows == 0 ? 1 : static_cast<uint32_t>((rows + per - 1) / per);
  DatasetReply part = reply;
  part.bars = Bars{};
  part.chunks = chunks;
  part.total_rows = rows;
  std::vector<std::string> parts;
  parts.reserve(chunks);
  for (uint32_t i = 0; i < chunks; ++i) {
    part.chunk = i;
    part.bars = rows == 0 ? Bars{} : reply.bars.slice(i * per, std::min(rows, (i + 1) * per));
    parts.push_back(encode(header, part));
  }
  return parts;
}

Result<DatasetReply> decode_reply(const std::vector<std::string>& parts,
                                  const DecodeLimits& limits) {
  if (parts.empty()) return make_error("dataset reply has no parts");
  DatasetReply whole;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto message = decode<DatasetReply>(parts[i], limits);
    if (!message) return make_error("dataset reply part " + std::to_string(i) + ": " + message.error());
    DatasetReply& part = message->payload;
    if (part.chunk != i || part.chunks != parts.size()) {
      return make_error("dataset reply part " + std::to_string(i) + " says it is part " +
                        std::to_string(part.chunk) + " of " + std::to_string(part.chunks) +
                        ", but " + std::to_string(parts.size()) + " parts arrived");
    }
    if (!part.bars.columns_agree()) return make_error("dataset reply columns differ in length");
    if (i == 0) {
      whole = std::move(part);
      continue;
    }
    whole.bars.append(part.bars);
  }
  if (whole.bars.size() != whole.total_rows) {
    return make_error("dataset reply carries " + std::to_string(whole.bars.size()) +
                      " rows but announced " + std::to_string(whole.total_rows));
  }
  if (whole.status == "ok" && fingerprint(whole.bars) != whole.fingerprint) {
    return make_error("dataset reply bars do not match fingerprint " + whole.fingerprint);
  }
  whole.chunk = 0;
  whole.chunks = 1;
  return whole;
}

bool send_parts(zmq::socket_t& socket, const std::string& type,
                const std::vector<std::string>& parts, std::chrono::milliseconds timeout) {
  try {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLOUT, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return false;
    auto more = parts.empty() ? zmq::send_flags::dontwait
                              : zmq::send_flags::sndmore | zmq::send_flags::dontwait;
    if (!socket.send(zmq::const_buffer(type.data(), type.size()), more)) return false;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      auto flags = i + 1 < parts.size() ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                        : zmq::send_flags::dontwait;
      if (!socket.send(zmq::const_buffer(parts[i].data(), parts[i].size()), flags)) return false;
    }
    return true;
  } catch (const zmq::error_t&) {
    return false;
  }
}

std::optional<std::vector<std::string>> receive_parts(zmq::socket_t& socket,
                                                      std::chrono::milliseconds timeout) {
  try {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
    std::vector<std::string> parts;
    zmq::message_t part;
    do {
      if (!socket.recv(part, zmq::recv_flags::dontwait)) return std::nullopt;
      parts.emplace_back(part.data<char>(), part.size());
    } while (part.more());
    return parts;
  } catch (const zmq::error_t&) {
    return std::nullopt;
  }
}

}  // namespace nightshift::dataset
