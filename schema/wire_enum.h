// Enums that travel as text. A wire enum lists its names once, in the order
// of its values, by specialising WireNames; the codec then packs the name and
// refuses any text that is not one of them (naming the field and the value).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace nightshift {

template <typename E>
struct WireNames;  // specialise: static constexpr std::array<std::string_view, N> names{...};

template <typename E, typename = void>
struct IsWireEnum : std::false_type {};
template <typename E>
struct IsWireEnum<E, std::void_t<decltype(WireNames<E>::names)>> : std::true_type {};

template <typename E>
constexpr std::string_view wire_text(E value) {
  const auto& names = WireNames<E>::names;
  auto index = static_cast<std::size_t>(value);
  return index < names.size() ? names[index] : std::string_view("?");
}

template <typename E>
constexpr std::optional<E> parse_wire(std::string_view text) {
  const auto& names = WireNames<E>::names;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == text) return static_cast<E>(i);
  }
  return std::nullopt;
}

// "a, b, c": the accepted names, for error messages.
template <typename E>
std::string wire_names_list() {
  std::string out;
  for (std::string_view name : WireNames<E>::names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace nightshift
