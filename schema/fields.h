// Field visitors: every wire message lists its fields once, in a
// `template <class V> void visit(V& v)` member, calling v("name", member).
// FieldWriter packs such a struct as a msgpack map; FieldReader fills one from
// an untrusted msgpack object and reports the first problem as an error
// naming the field. std::optional members are optional on the wire (absent or
// nil); every other member is required.
#pragma once

#include <msgpack.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "schema/wire_enum.h"

namespace nightshift::wire {

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};

template <typename T>
struct IsStringMap : std::false_type {};
template <typename T>
struct IsStringMap<std::map<std::string, T>> : std::true_type {};

using Packer = msgpack::packer<msgpack::sbuffer>;

// Counts the fields a struct will put on the wire (absent optionals omitted).
struct FieldCounter {
  uint32_t count = 0;
  template <typename T>
  void operator()(std::string_view, const T& value) {
    if constexpr (IsOptional<T>::value) {
      if (!value) return;
    }
    ++count;
  }
};

template <typename T>
void pack_value(Packer& pk, const T& value);

struct FieldWriter {
  Packer& pk;
  template <typename T>
  void operator()(std::string_view name, const T& value) {
    if constexpr (IsOptional<T>::value) {
      if (!value) return;
    }
    pk.pack_str(static_cast<uint32_t>(name.size()));
    pk.pack_str_body(name.data(), static_cast<uint32_t>(name.size()));
    pack_value(pk, value);
  }
};

template <typename T>
void pack_struct(Packer& pk, const T& value) {
  FieldCounter counter;
  const_cast<T&>(value).visit(counter);
  pk.pack_map(counter.count);
  FieldWriter writer{pk};
  const_cast<T&>(value).visit(writer);
}

template <typename T>
void pack_value(Packer& pk, const T& value) {
  if constexpr (IsOptional<T>::value) {
    pack_value(pk, *value);
  } else if constexpr (std::is_same_v<T, bool>) {
    pk.pack(value);
  } else if constexpr (IsWireEnum<T>::value) {
    std::string_view text = wire_text(value);
    pk.pack_str(static_cast<uint32_t>(text.size()));
    pk.pack_str_body(text.data(), static_cast<uint32_t>(text.size()));
  } else if constexpr (std::is_integral_v<T> || std::is_floating_point_v<T>) {
    pk.pack(value);
  } else if constexpr (std::is_same_v<T, std::string>) {
    pk.pack_str(static_cast<uint32_t>(value.size()));
    pk.pack_str_body(value.data(), static_cast<uint32_t>(value.size()));
  } else if constexpr (IsVector<T>::value) {
    pk.pack_array(static_cast<uint32_t>(value.size()));
    for (const auto& item : value) pack_value(pk, item);
  } else if constexpr (IsStringMap<T>::value) {
    pk.pack_map(static_cast<uint32_t>(value.size()));
    for (const auto& [key, item] : value) {
      pack_value(pk, key);
      pack_value(pk, item);
    }
  } else {
    pack_struct(pk, value);
  }
}

// Reads fields from an untrusted msgpack map. Stops at the first error.
class FieldReader {
 public:
  explicit FieldReader(const msgpack::object& map, std::string path = {})
      : map_(map), path_(std::move(path)) {
    if (map_.type != msgpack::type::MAP) fail(FieldPath{nullptr, path_}, "expected a map");
  }

  template <typename T>
  void operator()(std::string_view name, T& out) {
    if (!error_.empty()) return;
    const msgpack::object* found = find(name);
    const FieldPath at{&path_, name};
    if constexpr (IsOptional<T>::value) {
      if (found == nullptr || found->type == msgpack::type::NIL) {
        out.reset();
        return;
      }
      typename T::value_type inner{};
      if (read_value(*found, inner, at)) out = std::move(inner);
    } else {
      if (found == nullptr) {
        fail(at, "missing");
        return;
      }
      read_value(*found, out, at);
    }
  }

  const std::string& error() const { return error_; }
  bool ok() const { return error_.empty(); }

 private:
  // A field's dotted path ("data.key.study"), spelled out only for an error
  // message or a nested struct: building it for every field read was most of
  // the cost of decoding a message.
  struct FieldPath {
    const std::string* parent;  // null: `name` is the whole path
    std::string_view name;
    std::string str() const {
      std::string out;
      if (parent != nullptr && !parent->empty()) out.append(*parent).append(".");
      return out.append(name);
    }
  };

  const msgpack::object* find(std::string_view name) const {
    const auto& m = map_.via.map;
    for (uint32_t i = 0; i < m.size; ++i) {
      const msgpack::object& key = m.ptr[i].key;
      if (key.type == msgpack::type::STR &&
          std::string_view(key.via.str.ptr, key.via.str.size) == name) {
        return &m.ptr[i].val;
      }
    }
    return nullptr;
  }

  bool fail(const FieldPath& at, std::string_view what) {
    std::string path = at.str();
    error_ = path.empty() ? std::string(what) : "field '" + path + "': " + std::string(what);
    return false;
  }

  template <typename T>
  bool read_value(const msgpack::object& o, T& out, const FieldPath& at) {
    using msgpack::type::object_type;
    if constexpr (std::is_same_v<T, bool>) {
      if (o.type != object_type::BOOLEAN) return fail(at, "expected a boolean");
      out = o.via.boolean;
    } else if constexpr (IsWireEnum<T>::value) {
      if (o.type != object_type::STR) return fail(at, "expected a string");
      std::string_view text(o.via.str.ptr, o.via.str.size);
      auto parsed = parse_wire<T>(text);
      if (!parsed) {
        return fail(at, "unknown value '" + std::string(text.substr(0, 40)) + "' (known: " +
                            wire_names_list<T>() + ")");
      }
      out = *parsed;
    } else if constexpr (std::is_integral_v<T>) {
      if (o.type == object_type::POSITIVE_INTEGER) {
        if (o.via.u64 > static_cast<uint64_t>(std::numeric_limits<T>::max()))
          return fail(at, "integer out of range");
        out = static_cast<T>(o.via.u64);
      } else if (o.type == object_type::NEGATIVE_INTEGER) {
        if constexpr (std::is_unsigned_v<T>) {
          return fail(at, "expected a non-negative integer");
        } else {
          if (o.via.i64 < static_cast<int64_t>(std::numeric_limits<T>::min()))
            return fail(at, "integer out of range");
          out = static_cast<T>(o.via.i64);
        }
      } else {
        return fail(at, "expected an integer");
      }
    } else if constexpr (std::is_floating_point_v<T>) {
      if (o.type == object_type::FLOAT32 || o.type == object_type::FLOAT64) {
        out = static_cast<T>(o.via.f64);
      } else if (o.type == object_type::POSITIVE_INTEGER) {
        out = static_cast<T>(o.via.u64);
      } else if (o.type == object_type::NEGATIVE_INTEGER) {
        out = static_cast<T>(o.via.i64);
      } else {
        return fail(at, "expected a number");
      }
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (o.type != object_type::STR) return fail(at, "expected a string");
      out.assign(o.via.str.ptr, o.via.str.size);
    } else if constexpr (IsVector<T>::value) {
      if (o.type != object_type::ARRAY) return fail(at, "expected an array");
      out.clear();
      out.resize(o.via.array.size);
      for (uint32_t i = 0; i < o.via.array.size; ++i) {
        if (!read_value(o.via.array.ptr[i], out[i], at)) return false;
      }
    } else if constexpr (IsStringMap<T>::value) {
      if (o.type != object_type::MAP) return fail(at, "expected a map");
      out.clear();
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type != object_type::STR) return fail(at, "expected string keys");
        typename T::mapped_type item{};
        if (!read_value(kv.val, item, at)) return false;
        out.emplace(std::string(kv.key.via.str.ptr, kv.key.via.str.size), std::move(item));
      }
    } else {
      FieldReader inner(o, at.str());
      if (inner.ok()) out.visit(inner);
      if (!inner.ok()) {
        error_ = inner.error();
        return false;
      }
    }
    return true;
  }

  const msgpack::object& map_;
  std::string path_;
  std::string error_;
};

}  // namespace nightshift::wire
