#include "schema/names.h"

#include <cstdio>

namespace nightshift {
namespace {

bool name_char(char c, bool first) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '^') {
    return true;
  }
  return !first && (c == '.' || c == '_' || c == '=' || c == '-');
}

// The name as it may be printed: control and non-ASCII bytes as \xNN.
std::string printable(std::string_view name) {
  std::string out;
  for (char c : name.substr(0, kMaxNameLength)) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", byte);
      out += hex;
    }
  }
  if (name.size() > kMaxNameLength) out += "...";
  return out;
}

// Which rule `name` breaks, or nullptr; no allocation on the persister's path.
const char* broken_rule(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() > kMaxNameLength) return "is longer than 128 characters";
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0)) {
      return i == 0 ? "must start with a letter, a digit or '^'"
                    : "may hold only letters, digits and . _ = ^ -";
    }
  }
  if (name.find("..") != std::string_view::npos) return "must not contain '..'";
  return nullptr;
}

}  // namespace

bool valid_name(std::string_view name) { return broken_rule(name) == nullptr; }

std::string name_problem(std::string_view what, std::string_view name) {
  const char* rule = broken_rule(name);
  if (rule == nullptr) return "";
  if (name.empty()) return std::string(what) + " " + rule;
  return std::string(what) + " '" + printable(name) + "' " + rule;
}

}  // namespace nightshift
