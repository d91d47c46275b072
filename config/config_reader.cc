#include "config/config_reader.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

#include "base/private_dir.h"

namespace nightshift::config {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + cost});
      diag = up;
    }
  }
  return row[b.size()];
}

ConfigReader::ConfigReader(YAML::Node node, std::vector<std::string> path,
                           Diagnostics& diagnostics)
    : node_(std::move(node)), path_(std::move(path)), diag_(diagnostics) {
  if (node_ && !node_.IsNull() && !node_.IsMap()) {
    diag_.errors.push_back(where(nullptr, &node_) + "expected a mapping of keys");
    valid_ = false;
  }
}

std::string ConfigReader::join(const char* key) const {
  std::string joined;
  for (const auto& part : path_) joined += (joined.empty() ? "" : ".") + part;
  if (key == nullptr) return joined.empty() ? std::string("(top level)") : joined;
  return joined.empty() ? std::string(key) : joined + "." + key;
}

void ConfigReader::declare(const char* key, std::string type, std::string accepts,
                           YAML::Node value) {
  if (diag_.declarations == nullptr) return;
  std::vector<std::string> path = path_;
  path.emplace_back(key);
  diag_.declarations->push_back({std::move(path), std::move(type), std::move(accepts), value});
}

std::string ConfigReader::where(const char* key, const YAML::Node* node) const {
  std::string full = join(key);
  auto env = diag_.origin.find(full);
  if (env != diag_.origin.end()) return "environment " + env->second + ": " + full + ": ";
  std::string location = diag_.file;
  if (node != nullptr && node->Mark().line >= 0) {
    location += ":" + std::to_string(node->Mark().line + 1);
  }
  return location + ": " + full + ": ";
}

void ConfigReader::error(const char* key, const std::string& what) {
  std::optional<YAML::Node> node = get(key);
  diag_.errors.push_back(where(key, node ? &*node : nullptr) + what);
}

void ConfigReader::key_error(const char* key, const std::string& what) {
  known_.insert(key);
  if (node_ && node_.IsMap()) {
    for (const auto& kv : node_) {
      if (kv.first.Scalar() != key) continue;
      YAML::Node key_node = kv.first;
      diag_.errors.push_back(where(key, &key_node) + what);
      return;
    }
  }
  diag_.errors.push_back(where(key, nullptr) + what);
}

std::optional<YAML::Node> ConfigReader::get(const char* key) {
  known_.insert(key);
  if (!valid_ || !node_ || !node_.IsMap()) return std::nullopt;
  YAML::Node child = node_[key];
  if (!child.IsDefined()) return std::nullopt;
  return child;
}

namespace {

template <typename T>
bool scalar_as(const YAML::Node& node, T& out) {
  if (!node.IsScalar()) return false;
  try {
    out = node.as<T>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

std::string range(double min, double max) {
  std::ostringstream text;
  text << "[" << min << ", " << max << "]";
  return text.str();
}

std::string joined(const std::vector<std::string>& items, const char* separator) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : separator) + item;
  return text;
}

template <typename T>
YAML::Node flow_list(const std::vector<T>& items) {
  YAML::Node list(YAML::NodeType::Sequence);
  for (const auto& item : items) list.push_back(item);
  list.SetStyle(YAML::EmitterStyle::Flow);
  return list;
}

YAML::Node number_node(double value) {
  std::ostringstream text;
  text.precision(15);
  text << value;
  std::string digits = text.str();
  // 2 prints as "2"; "2.0" keeps it a number to a reader of the YAML.
  if (digits.find_first_of(".eEin") == std::string::npos) digits += ".0";
  return YAML::Node(digits);
}

}  // namespace

bool ConfigReader::field(const char* key, bool& out) {
  declare(key, "boolean", "true, false", YAML::Node(out));
  auto node = get(key);
  if (!node) return false;
  if (!scalar_as(*node, out)) {
    diag_.errors.push_back(where(key, &*node) + "expected true or false");
    return false;
  }
  return true;
}

bool ConfigReader::field(const char* key, int64_t& out, int64_t min, int64_t max) {
  declare(key, "integer", "[" + std::to_string(min) + ", " + std::to_string(max) + "]",
          YAML::Node(out));
  auto node = get(key);
  if (!node) return false;
  int64_t value = 0;
  if (!scalar_as(*node, value)) {
    diag_.errors.push_back(where(key, &*node) + "expected an integer");
    return false;
  }
  if (value < min || value > max) {
    diag_.errors.push_back(where(key, &*node) + std::to_string(value) + " is out of range [" +
                           std::to_string(min) + ", " + std::to_string(max) + "]");
    return false;
  }
  out = value;
  return true;
}

bool ConfigReader::field(const char* key, int& out, int min, int max) {
  int64_t value = out;
  bool set = field(key, value, min, max);
  out = static_cast<int>(value);
  return set;
}

bool ConfigReader::field(const char* key, std::optional<int>& out, int min, int max) {
  if (out) {
    int64_t value = *out;
    bool set = field(key, value, min, max);
    out = static_cast<int>(value);
    return set;
  }
  declare(key, "integer", "[" + std::to_string(min) + ", " + std::to_string(max) + "]",
          YAML::Node(YAML::NodeType::Null));
  std::vector<KeyDeclaration>* declarations = std::exchange(diag_.declarations, nullptr);
  int64_t value = 0;
  bool set = field(key, value, min, max);
  diag_.declarations = declarations;
  if (set) out = static_cast<int>(value);
  return set;
}

bool ConfigReader::field(const char* key, double& out, double min, double max) {
  declare(key, "number", range(min, max), number_node(out));
  auto node = get(key);
  if (!node) return false;
  double value = 0;
  if (!scalar_as(*node, value) || !std::isfinite(value)) {
    diag_.errors.push_back(where(key, &*node) + "expected a number");
    return false;
  }
  if (value < min || value > max) {
    std::ostringstream msg;
    msg << value << " is out of range " << range(min, max);
    diag_.errors.push_back(where(key, &*node) + msg.str());
    return false;
  }
  out = value;
  return true;
}

bool ConfigReader::field(const char* key, std::string& out) {
  declare(key, "string", "", YAML::Node(out));
  auto node = get(key);
  if (!node) return false;
  if (!node->IsScalar()) {
    diag_.errors.push_back(where(key, &*node) + "expected a string");
    return false;
  }
  out = node->Scalar();
  return true;
}

bool ConfigReader::endpoint(const char* key, std::string& out) {
  declare(key, "string", "an endpoint: tcp://, ipc:// or inproc://", YAML::Node(out));
  std::vector<KeyDeclaration>* declarations = std::exchange(diag_.declarations, nullptr);
  std::string value = out;
  bool set = field(key, value);
  diag_.declarations = declarations;
  if (!set) return false;
  auto node = get(key);
  if (value.rfind("ipc://", 0) == 0 && value.size() - 6 > max_ipc_path_bytes()) {
    diag_.errors.push_back(where(key, node ? &*node : nullptr) + "endpoint '" + value +
                           "': the path is " + std::to_string(value.size() - 6) +
                           " bytes, longer than an ipc socket allows (" +
                           std::to_string(max_ipc_path_bytes()) + "); use a shorter folder");
    return false;
  }
  for (const char* transport : {"tcp://", "ipc://", "inproc://"}) {
    if (value.rfind(transport, 0) != 0) continue;
    out = value;
    return true;
  }
  diag_.errors.push_back(where(key, node ? &*node : nullptr) + "endpoint '" + value +
                         "' must start with tcp://, ipc:// or inproc://");
  return false;
}

bool ConfigReader::choice(const char* key, std::string& out,
                          const std::vector<std::string>& allowed) {
  declare(key, "string", "one of: " + joined(allowed, ", "), YAML::Node(out));
  std::vector<KeyDeclaration>* declarations = std::exchange(diag_.declarations, nullptr);
  std::string value = out;
  bool set = field(key, value);
  diag_.declarations = declarations;
  if (!set) return false;
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    auto node = get(key);
    diag_.errors.push_back(where(key, node ? &*node : nullptr) + "'" + value +
                           "' is not one of: " + joined(allowed, ", "));
    return false;
  }
  out = value;
  return true;
}

bool ConfigReader::list(const char* key, std::vector<std::string>& out, bool non_empty) {
  declare(key, "list of strings", non_empty ? "at least one" : "", flow_list(out));
  auto node = get(key);
  if (!node) return false;
  if (!node->IsSequence()) {
    diag_.errors.push_back(where(key, &*node) + "expected a list");
    return false;
  }
  std::vector<std::string> values;
  for (const auto& item : *node) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      diag_.errors.push_back(where(key, &item) + "expected a list of non-empty strings");
      return false;
    }
    values.push_back(item.Scalar());
  }
  if (non_empty && values.empty()) {
    diag_.errors.push_back(where(key, &*node) + "must not be empty");
    return false;
  }
  out = std::move(values);
  return true;
}

bool ConfigReader::list(const char* key, std::vector<std::string>& out,
                        const std::vector<std::string>& allowed, const char* noun,
                        bool non_empty) {
  declare(key, "list of strings",
          std::string(non_empty ? "at least one, " : "") + "each one of: " + joined(allowed, ", "),
          flow_list(out));
  std::vector<KeyDeclaration>* declarations = std::exchange(diag_.declarations, nullptr);
  std::vector<std::string> values = out;
  bool set = list(key, values, non_empty);
  diag_.declarations = declarations;
  if (!set) return false;
  auto node = get(key);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::string& value = values[i];
    if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) continue;
    YAML::Node item = (*node)[i];
    std::string nearest = closest_name(value, allowed);
    diag_.errors.push_back(where(key, &item) + "unknown " + noun + " '" + value + "' (" +
                           (nearest.empty() ? "" : "did you mean '" + nearest + "'? ") +
                           "known: " + joined(allowed, ", ") + ")");
    return false;
  }
  out = std::move(values);
  return true;
}

bool ConfigReader::list(const char* key, std::vector<int>& out, int min, int max,
                        bool non_empty) {
  declare(key, "list of integers",
          std::string(non_empty ? "at least one, " : "") + "each in " + range(min, max),
          flow_list(out));
  auto node = get(key);
  if (!node) return false;
  if (!node->IsSequence()) {
    diag_.errors.push_back(where(key, &*node) + "expected a list");
    return false;
  }
  std::vector<int> values;
  for (const auto& item : *node) {
    int value = 0;
    if (!scalar_as(item, value) || value < min || value > max) {
      diag_.errors.push_back(where(key, &item) + "expected integers in " + range(min, max));
      return false;
    }
    values.push_back(value);
  }
  if (non_empty && values.empty()) {
    diag_.errors.push_back(where(key, &*node) + "must not be empty");
    return false;
  }
  out = std::move(values);
  return true;
}

bool ConfigReader::list(const char* key, std::vector<double>& out, double min, double max,
                        bool non_empty) {
  YAML::Node shown(YAML::NodeType::Sequence);
  for (double item : out) shown.push_back(number_node(item));
  shown.SetStyle(YAML::EmitterStyle::Flow);
  declare(key, "list of numbers",
          std::string(non_empty ? "at least one, " : "") + "each in " + range(min, max), shown);
  auto node = get(key);
  if (!node) return false;
  if (!node->IsSequence()) {
    diag_.errors.push_back(where(key, &*node) + "expected a list");
    return false;
  }
  std::vector<double> values;
  for (const auto& item : *node) {
    double value = 0;
    if (!scalar_as(item, value) || !std::isfinite(value) || value < min || value > max) {
      diag_.errors.push_back(where(key, &item) + "expected numbers in " + range(min, max));
      return false;
    }
    values.push_back(value);
  }
  if (non_empty && values.empty()) {
    diag_.errors.push_back(where(key, &*node) + "must not be empty");
    return false;
  }
  out = std::move(values);
  return true;
}

ConfigReader ConfigReader::section(const char* key) {
  auto node = get(key);
  std::vector<std::string> path = path_;
  path.emplace_back(key);
  return ConfigReader(node ? *node : YAML::Node(), std::move(path), diag_);
}

std::vector<std::pair<std::string, ConfigReader>> ConfigReader::entries(
    const char* key, const std::vector<std::string>& held, const char* what) {
  std::vector<std::pair<std::string, ConfigReader>> out;
  std::vector<std::string> path = path_;
  path.emplace_back(key);
  auto entry = [&](const std::string& name, YAML::Node node) {
    std::vector<std::string> entry_path = path;
    entry_path.push_back(name);
    out.emplace_back(name, ConfigReader(node, std::move(entry_path), diag_));
  };
  if (diag_.declarations != nullptr) {
    YAML::Node none(YAML::NodeType::Map);
    none.SetStyle(YAML::EmitterStyle::Flow);  // "key: {}", not "key:\n  {}"
    declare(key, "mapping", std::string("keys: any ") + what + ", each with the settings below",
            none);
    if (diag_.placeholder_entries) {
      entry(std::string("<") + what + ">", YAML::Node());
    } else {
      for (const auto& name : held) entry(name, YAML::Node());
    }
  }
  auto node = get(key);
  if (!node) return out;
  if (!node->IsMap()) {
    diag_.errors.push_back(where(key, &*node) + "expected a mapping");
    return out;
  }
  for (const auto& kv : *node) entry(kv.first.Scalar(), kv.second);
  return out;
}

void ConfigReader::finish() {
  if (!valid_ || !node_ || !node_.IsMap()) return;
  for (const auto& kv : node_) {
    std::string key = kv.first.Scalar();
    if (known_.count(key)) continue;
    std::string best;
    std::size_t best_distance = 3;  // suggest only close matches
    for (const auto& candidate : known_) {
      std::size_t d = edit_distance(key, candidate);
      if (d < best_distance) {
        best_distance = d;
        best = candidate;
      }
    }
    std::string message = "unknown key '" + key + "'";
    if (!best.empty()) message += " (did you mean '" + best + "'?)";
    YAML::Node key_node = kv.first;
    std::string location = diag_.file;
    if (key_node.Mark().line >= 0) location += ":" + std::to_string(key_node.Mark().line + 1);
    diag_.errors.push_back(location + ": " + join(key.c_str()) + ": " + message);
  }
}

std::string closest_name(const std::string& name, const std::vector<std::string>& known) {
  std::string best;
  std::size_t best_distance = 3;  // suggest only close matches
  for (const auto& candidate : known) {
    std::size_t d = edit_distance(name, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

}  // namespace nightshift::config
