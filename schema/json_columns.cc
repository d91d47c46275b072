#include "schema/json_columns.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>

#include "schema/json.h"

namespace nightshift {
namespace {

void append_json_number(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  out += text;
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void append_json_count(std::string& out, uint64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

void append_json_string(std::string& out, std::string_view text) {
  auto plain = [](unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; };
  if (std::all_of(text.begin(), text.end(), plain)) {  // names like "auc": no escaping
    out.append(1, '"').append(text).append(1, '"');
    return;
  }
  // Escapes and non-ASCII: nlohmann's rules (invalid UTF-8 becomes U+FFFD).
  out += dump_json(nlohmann::json(std::string(text)));
}

void append_json_value(std::string& out, double value) { append_json_number(out, value); }
void append_json_value(std::string& out, const std::string& value) {
  append_json_string(out, value);
}

template <typename Map>
void append_json_object(std::string& out, const Map& map) {
  out += '{';
  bool first = true;
  for (const auto& [key, value] : map) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, key);
    out += ':';
    append_json_value(out, value);
  }
  out += '}';
}

template <typename Map>
std::string object_text(const Map& map) {
  std::string out;
  out.reserve(2 + 40 * map.size());
  append_json_object(out, map);
  return out;
}

}  // namespace

std::string json_object_text(const std::map<std::string, double>& map) { return object_text(map); }

std::string json_object_text(const std::map<std::string, std::string>& map) {
  return object_text(map);
}

std::string folds_json_text(const std::vector<FoldMetrics>& folds) {
  std::string out;
  out.reserve(2 + 200 * folds.size());
  out += '[';
  for (const auto& fold : folds) {
    if (&fold != &folds.front()) out += ',';
    out += "{\"metrics\":";
    append_json_object(out, fold.metrics);
    out += ",\"test_rows\":";
    append_json_count(out, fold.test_rows);
    out += ",\"train_rows\":";
    append_json_count(out, fold.train_rows);
    out += '}';
  }
  out += ']';
  return out;
}

}  // namespace nightshift
