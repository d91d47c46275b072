// Encoding and bounded decoding of bus message bodies.
//
// decode_frame() accepts untrusted bytes: the frame size, container lengths,
// string/bin sizes and nesting depth are capped, the header is checked
// (major version, known type, every field present and typed), and any problem
// comes back as an error value. Nothing throws past this module.
#pragma once

#include <msgpack.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "schema/envelope.h"
#include "schema/fields.h"
#include "schema/result.h"

namespace nightshift {

struct DecodeLimits {
  std::size_t max_frame_bytes = 16u << 20;
  std::size_t max_depth = 16;
  std::size_t max_array = 1u << 20;
  std::size_t max_map = 1u << 16;
  std::size_t max_str = 1u << 20;
  std::size_t max_bin = 16u << 20;
};

// A decoded, header-checked frame whose payload is still generic msgpack.
struct DecodedFrame {
  Header header;
  std::shared_ptr<msgpack::object_handle> handle;  // owns the memory of data
  msgpack::object data;                            // payload map
  msgpack::object replay;  // a replayed message's ReplayPosition map; nil otherwise
};

Result<DecodedFrame> decode_frame(std::string_view bytes, const DecodeLimits& limits = {});

// The same, for a stage that decodes a stream of messages on one thread: the
// payload lives in `zone` (frame.handle stays empty) and its strings point
// into `bytes`, so it is valid while both are; the caller clears the zone
// between messages. That saves the 8 KiB zone allocated and freed per
// message (a "large" malloc, which first sweeps every small block freed
// since the last one) and a copy of every string.
Result<DecodedFrame> decode_frame(std::string_view bytes, msgpack::zone& zone,
                                  const DecodeLimits& limits = {});

bool is_known_type(std::string_view type);

// A stored body with `position` added as the last entry ("replay") of its
// top-level map, written to `out` (reused). False when `body` does not start
// with a map header (it was not a message body).
bool append_replay_position(std::string_view body, const ReplayPosition& position,
                            std::string& out);

template <typename Payload>
Result<Payload> decode_payload(const DecodedFrame& frame) {
  if (frame.header.type != Payload::kType) {
    return make_error("unexpected type '" + frame.header.type + "', wanted '" +
                      std::string(Payload::kType) + "'");
  }
  Payload payload{};
  wire::FieldReader reader(frame.data, "data");
  if (reader.ok()) payload.visit(reader);
  if (!reader.ok()) return make_error(reader.error());
  return payload;
}

template <typename Payload>
Result<Message<Payload>> decode(std::string_view bytes, const DecodeLimits& limits = {}) {
  auto frame = decode_frame(bytes, limits);
  if (!frame) return frame.take_error();
  auto payload = decode_payload<Payload>(*frame);
  if (!payload) return payload.take_error();
  return Message<Payload>{std::move(frame->header), std::move(*payload)};
}

// Encodes header + payload; header.type is set from Payload::kType.
template <typename Payload>
std::string encode(Header header, const Payload& payload) {
  header.type = Payload::kType;
  // Under 1 KiB, which glibc hands out from a per-thread cache; the 8 KiB
  // default is a "large" request, and every large malloc first sweeps the
  // small blocks freed since the last one. Bigger messages grow as usual.
  msgpack::sbuffer buffer(1000);
  wire::Packer pk(buffer);
  wire::FieldCounter count;
  header.visit(count);
  pk.pack_map(count.count + 1);
  wire::FieldWriter writer{pk};
  header.visit(writer);
  writer("data", payload);
  return std::string(buffer.data(), buffer.size());
}

// A wire struct on its own, without a frame header: for a value kept in a
// database column (a job's spec in the jobs table).
template <typename T>
std::string encode_value(const T& value) {
  msgpack::sbuffer buffer;
  wire::Packer pk(buffer);
  wire::pack_value(pk, value);
  return std::string(buffer.data(), buffer.size());
}

// Unpacks such a value under `limits` into `zone` (no header check).
Result<msgpack::object> unpack_value(std::string_view bytes, msgpack::zone& zone,
                                     const DecodeLimits& limits = {});

// Decodes a value written by encode_value; errors name the field under `what`.
template <typename T>
Result<T> decode_value(std::string_view bytes, const std::string& what,
                       const DecodeLimits& limits = {}) {
  msgpack::zone zone;
  auto root = unpack_value(bytes, zone, limits);
  if (!root) return make_error(ErrorKind::corrupt, what + ": " + root.error());
  T value{};
  wire::FieldReader reader(*root, what);
  if (reader.ok()) value.visit(reader);
  if (!reader.ok()) return make_error(ErrorKind::corrupt, reader.error());
  return value;
}

}  // namespace nightshift
