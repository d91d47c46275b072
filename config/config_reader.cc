#include "config/config_reader.h"

#include <algorithm>
#include <cmath>
#include <sstream>

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

ConfigReader::ConfigReader(YAML::Node node, std::string path, Diagnostics& diagnostics)
    : node_(std::move(node)), path_(std::move(path)), diag_(diagnostics) {
  if (node_ && !node_.IsNull() && !node_.IsMap()) {
    diag_.errors.push_back(where(nullptr, &node_) + "expected a mapping of keys");
    valid_ = false;
  }
}

std::string ConfigReader::join(const char* key) const {
  if (key == nullptr) return path_.empty() ? std::string("(top level)") : path_;
  return path_.empty() ? std::string(key) : path_ + "." + key;
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

}  // namespace

void ConfigReader::field(const char* key, bool& out) {
  auto node = get(key);
  if (!node) return;
  if (!scalar_as(*node, out)) {
    diag_.errors.push_back(where(key, &*node) + "expected true or false");
  }
}

void ConfigReader::field(const char* key, int64_t& out, int64_t min, int64_t max) {
  auto node = get(key);
  if (!node) return;
  int64_t value = 0;
  if (!scalar_as(*node, value)) {
    diag_.errors.push_back(where(key, &*node) + "expected an integer");
    return;
  }
  if (value < min || value > max) {
    diag_.errors.push_back(where(key, &*node) + std::to_string(value) + " is out of range [" +
                           std::to_string(min) + ", " + std::to_string(max) + "]");
    return;
  }
  out = value;
}

void ConfigReader::field(const char* key, int& out, int min, int max) {
  int64_t value = out;
  field(key, value, min, max);
  out = static_cast<int>(value);
}

void ConfigReader::field(const char* key, double& out, double min, double max) {
  auto node = get(key);
  if (!node) return;
  double value = 0;
  if (!scalar_as(*node, value) || !std::isfinite(value)) {
    diag_.errors.push_back(where(key, &*node) + "expected a number");
    return;
  }
  if (value < min || value > max) {
    std::ostringstream msg;
    msg << value << " is out of range [" << min << ", " << max << "]";
    diag_.errors.push_back(where(key, &*node) + msg.str());
    return;
  }
  out = value;
}

void ConfigReader::field(const char* key, std::string& out) {
  auto node = get(key);
  if (!node) return;
  if (!node->IsScalar()) {
    diag_.errors.push_back(where(key, &*node) + "expected a string");
    return;
  }
  out = node->Scalar();
}

void ConfigReader::choice(const char* key, std::string& out,
                          const std::vector<std::string>& allowed) {
  std::string value = out;
  std::size_t errors_before = diag_.errors.size();
  field(key, value);
  if (diag_.errors.size() != errors_before) return;
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    std::string options;
    for (const auto& a : allowed) options += (options.empty() ? "" : ", ") + a;
    auto node = get(key);
    diag_.errors.push_back(where(key, node ? &*node : nullptr) + "'" + value +
                           "' is not one of: " + options);
    return;
  }
  out = value;
}

void ConfigReader::list(const char* key, std::vector<std::string>& out, bool non_empty) {
  auto node = get(key);
  if (!node) return;
  if (!node->IsSequence()) {
    diag_.errors.push_back(where(key, &*node) + "expected a list");
    return;
  }
  std::vector<std::string> values;
  for (const auto& item : *node) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      diag_.errors.push_back(where(key, &item) + "expected a list of non-empty strings");
      return;
    }
    values.push_back(item.Scalar());
  }
  if (non_empty && values.empty()) {
    diag_.errors.push_back(where(key, &*node) + "must not be empty");
    return;
  }
  out = std::move(values);
}

void ConfigReader::list(const char* key, std::vector<int>& out, int min, int max,
                        bool non_empty) {
  auto node = get(key);
  if (!node) return;
  if (!node->IsSequence()) {
    diag_.errors.push_back(where(key, &*node) + "expected a list");
    return;
  }
  std::vector<int> values;
  for (const auto& item : *node) {
    int value = 0;
    if (!scalar_as(item, value) || value < min || value > max) {
      diag_.errors.push_back(where(key, &item) + "expected integers in [" + std::to_string(min) +
                             ", " + std::to_string(max) + "]");
      return;
    }
    values.push_back(value);
  }
  if (non_empty && values.empty()) {
    diag_.errors.push_back(where(key, &*node) + "must not be empty");
    return;
  }
  out = std::move(values);
}

ConfigReader ConfigReader::section(const char* key) {
  auto node = get(key);
  return ConfigReader(node ? *node : YAML::Node(), join(key), diag_);
}

std::vector<std::pair<std::string, ConfigReader>> ConfigReader::entries(const char* key) {
  std::vector<std::pair<std::string, ConfigReader>> out;
  auto node = get(key);
  if (!node) return out;
  if (!node->IsMap()) {
    diag_.errors.push_back(where(key, &*node) + "expected a mapping");
    return out;
  }
  for (const auto& kv : *node) {
    std::string name = kv.first.Scalar();
    out.emplace_back(name, ConfigReader(kv.second, join(key) + "." + name, diag_));
  }
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

}  // namespace nightshift::config
