// Conversion of decoded frames to JSON, for `nightshift subscribe --json`,
// the gateway and logs.
#pragma once

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "schema/codec.h"
#include "schema/fields.h"

namespace nightshift {

nlohmann::json to_json(const msgpack::object& object);

// JSON of any wire struct (a message payload or a part of one), through the
// same field list and codec the bus uses, so it reads as on the wire.
template <typename T>
nlohmann::json wire_json(const T& value) {
  msgpack::sbuffer buffer;
  wire::Packer packer(buffer);
  wire::pack_value(packer, value);
  msgpack::object_handle handle = msgpack::unpack(buffer.data(), buffer.size());
  return to_json(handle.get());
}

// {"topic": ..., "v":..., "type":..., "ts":..., "src":{...}, "seq":..., "data":{...}}
nlohmann::json frame_to_json(std::string_view topic, const DecodedFrame& frame);

// Serialises JSON for output. Strings from the wire may hold invalid UTF-8;
// those bytes become U+FFFD instead of throwing.
std::string dump_json(const nlohmann::json& value, int indent = -1);

}  // namespace nightshift
