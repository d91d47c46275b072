#include "schema/json.h"

namespace nightshift {

nlohmann::json to_json(const msgpack::object& o) {
  using msgpack::type::object_type;
  switch (o.type) {
    case object_type::NIL:
      return nullptr;
    case object_type::BOOLEAN:
      return o.via.boolean;
    case object_type::POSITIVE_INTEGER:
      return o.via.u64;
    case object_type::NEGATIVE_INTEGER:
      return o.via.i64;
    case object_type::FLOAT32:
    case object_type::FLOAT64:
      return o.via.f64;
    case object_type::STR:
      return std::string(o.via.str.ptr, o.via.str.size);
    case object_type::BIN:
      return nlohmann::json::binary_t(
          std::vector<std::uint8_t>(o.via.bin.ptr, o.via.bin.ptr + o.via.bin.size));
    case object_type::ARRAY: {
      nlohmann::json array = nlohmann::json::array();
      for (uint32_t i = 0; i < o.via.array.size; ++i) array.push_back(to_json(o.via.array.ptr[i]));
      return array;
    }
    case object_type::MAP: {
      nlohmann::json map = nlohmann::json::object();
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        std::string key = kv.key.type == object_type::STR
                              ? std::string(kv.key.via.str.ptr, kv.key.via.str.size)
                              : dump_json(to_json(kv.key));
        map[key] = to_json(kv.val);
      }
      return map;
    }
    default:
      return nullptr;
  }
}

nlohmann::json frame_to_json(std::string_view topic, const DecodedFrame& frame) {
  const Header& h = frame.header;
  nlohmann::json out{
      {"topic", std::string(topic)},
      {"v", h.v},
      {"type", h.type},
      {"ts", h.ts_ns},
      {"src", {{"host", h.src.host}, {"stage", h.src.stage}, {"pid", h.src.pid}}},
      {"seq", h.seq},
      {"data", to_json(frame.data)},
  };
  if (frame.replay.type == msgpack::type::MAP) out["replay"] = to_json(frame.replay);
  return out;
}

std::string dump_json(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace nightshift
