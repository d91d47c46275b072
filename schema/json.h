// Conversion of decoded frames to JSON, for `nightshift subscribe --json`,
// the gateway and logs.
#pragma once

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "schema/codec.h"

namespace nightshift {

nlohmann::json to_json(const msgpack::object& object);

// {"topic": ..., "v":..., "type":..., "ts":..., "src":{...}, "seq":..., "data":{...}}
nlohmann::json frame_to_json(std::string_view topic, const DecodedFrame& frame);

// Serialises JSON for output. Strings from the wire may hold invalid UTF-8;
// those bytes become U+FFFD instead of throwing.
std::string dump_json(const nlohmann::json& value, int indent = -1);

}  // namespace nightshift
