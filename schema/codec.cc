#include "schema/codec.h"

#include <array>
#include <exception>

#include "schema/data_messages.h"
#include "schema/event_messages.h"
#include "schema/job_messages.h"
#include "schema/telemetry_messages.h"

namespace nightshift {
namespace {

// Every payload type a decoder accepts. A frame of any other type is dropped.
constexpr std::array<std::string_view, 15> kKnownTypes = {
    HostSample::kType,  GpuSample::kType,      Alert::kType,         Job::kType,
    JobResult::kType,   Heartbeat::kType,      JobEvent::kType,      JobsPersisted::kType,
    RunProgress::kType, Event::kType,          DataNotice::kType,    DatasetRequest::kType,
    DatasetReply::kType, GpuInventory::kType,  RunCheckpoint::kType,
};

const msgpack::object* find_key(const msgpack::object& map, std::string_view name) {
  for (uint32_t i = 0; i < map.via.map.size; ++i) {
    const auto& key = map.via.map.ptr[i].key;
    if (key.type == msgpack::type::STR &&
        std::string_view(key.via.str.ptr, key.via.str.size) == name) {
      return &map.via.map.ptr[i].val;
    }
  }
  return nullptr;
}

// Strings and binaries point into the caller's bytes instead of being copied.
bool reference_in_place(msgpack::type::object_type, std::size_t, void*) { return true; }

// Unpacks `bytes` into `zone` under `limits`; the object is valid while the
// zone is, and, when `in_place`, while `bytes` is.
Result<msgpack::object> unpack_bounded(std::string_view bytes, msgpack::zone& zone,
                                       const DecodeLimits& limits, bool in_place) {
  if (bytes.size() > limits.max_frame_bytes) {
    return make_error("frame of " + std::to_string(bytes.size()) + " bytes exceeds cap of " +
                      std::to_string(limits.max_frame_bytes));
  }
  if (bytes.empty()) return make_error("empty frame");
  try {
    msgpack::unpack_limit limit(limits.max_array, limits.max_map, limits.max_str,
                                limits.max_bin, 0, limits.max_depth);
    std::size_t offset = 0;
    msgpack::object root =
        msgpack::unpack(zone, bytes.data(), bytes.size(), offset,
                        in_place ? &reference_in_place : nullptr, nullptr, limit);
    if (offset != bytes.size()) return make_error("trailing bytes after message");
    return root;
  } catch (const msgpack::insufficient_bytes&) {
    return make_error("truncated msgpack");
  } catch (const msgpack::size_overflow& e) {
    return make_error(std::string("msgpack limit exceeded: ") + e.what());
  } catch (const std::exception& e) {
    return make_error(std::string("malformed msgpack: ") + e.what());
  }
}

// Checks the header of an unpacked body and finds its payload.
Result<DecodedFrame> frame_of(const msgpack::object& root) {
  DecodedFrame frame;
  if (root.type != msgpack::type::MAP) return make_error("body is not a map");

  wire::FieldReader reader(root);
  frame.header.visit(reader);
  if (!reader.ok()) return make_error("bad header: " + reader.error());
  if (frame.header.v != kSchemaMajor) {
    return make_error("unsupported schema major version " + std::to_string(frame.header.v));
  }
  if (!is_known_type(frame.header.type)) {
    return make_error("unknown message type '" + frame.header.type + "'");
  }
  const msgpack::object* data = find_key(root, "data");
  if (data == nullptr) return make_error("field 'data': missing");
  if (data->type != msgpack::type::MAP) return make_error("field 'data': expected a map");
  frame.data = *data;
  if (const msgpack::object* replay = find_key(root, "replay");
      replay != nullptr && replay->type == msgpack::type::MAP) {
    frame.replay = *replay;
  }
  return frame;
}

}  // namespace

bool is_known_type(std::string_view type) {
  for (auto known : kKnownTypes) {
    if (known == type) return true;
  }
  return false;
}

bool append_replay_position(std::string_view body, const ReplayPosition& position,
                            std::string& out) {
  if (body.empty()) return false;
  const auto* b = reinterpret_cast<const unsigned char*>(body.data());
  uint64_t entries = 0;
  std::size_t header_bytes = 0;
  if ((b[0] & 0xf0) == 0x80) {
    entries = b[0] & 0x0f;
    header_bytes = 1;
  } else if (b[0] == 0xde && body.size() >= 3) {
    entries = (uint64_t{b[1]} << 8) | b[2];
    header_bytes = 3;
  } else if (b[0] == 0xdf && body.size() >= 5) {
    entries = (uint64_t{b[1]} << 24) | (uint64_t{b[2]} << 16) | (uint64_t{b[3]} << 8) | b[4];
    header_bytes = 5;
  } else {
    return false;
  }
  if (entries >= 0xffffffffu) return false;
  // One buffer per thread, reused: a replay calls this for every event.
  static thread_local msgpack::sbuffer buffer(256);
  buffer.clear();
  wire::Packer pk(buffer);
  pk.pack_map(static_cast<uint32_t>(entries + 1));  // the smallest header that holds the count
  const std::size_t new_header = buffer.size();
  pk.pack_str(6);
  pk.pack_str_body("replay", 6);
  wire::pack_value(pk, position);
  out.clear();
  out.reserve(body.size() + buffer.size());
  out.append(buffer.data(), new_header);
  out.append(body.substr(header_bytes));
  out.append(buffer.data() + new_header, buffer.size() - new_header);
  return true;
}

Result<DecodedFrame> decode_frame(std::string_view bytes, const DecodeLimits& limits) {
  auto zone = std::make_unique<msgpack::zone>();
  auto root = unpack_bounded(bytes, *zone, limits, false);
  if (!root) return root.take_error();
  auto frame = frame_of(*root);
  if (!frame) return frame;
  frame->handle = std::make_shared<msgpack::object_handle>(*root, std::move(zone));
  return frame;
}

Result<DecodedFrame> decode_frame(std::string_view bytes, msgpack::zone& zone,
                                  const DecodeLimits& limits) {
  auto root = unpack_bounded(bytes, zone, limits, true);
  if (!root) return root.take_error();
  return frame_of(*root);
}

Result<msgpack::object> unpack_value(std::string_view bytes, msgpack::zone& zone,
                                     const DecodeLimits& limits) {
  return unpack_bounded(bytes, zone, limits, false);
}

}  // namespace nightshift
