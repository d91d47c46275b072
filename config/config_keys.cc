#include "config/config_keys.h"

#include <yaml-cpp/yaml.h>

#include "config/config_reader.h"

namespace nightshift::config {
namespace {

// Reads an empty document over a copy of `config`: nothing changes, and every
// field() call declares its key with the value the copy holds.
std::vector<KeyDeclaration> declarations(const Config& config, bool placeholders) {
  Config copy = config;
  std::vector<KeyDeclaration> out;
  Diagnostics diag;
  diag.declarations = &out;
  diag.placeholder_entries = placeholders;
  ConfigReader reader(YAML::Node(), {}, diag);
  read_section(reader, copy);
  return out;
}

std::string flow_text(const YAML::Node& value) {
  if (value.IsNull()) return "";
  YAML::Emitter out;
  out.SetSeqFormat(YAML::Flow);
  out.SetMapFormat(YAML::Flow);
  out << value;
  return out.c_str();
}

std::vector<ConfigKey> keys_of(const std::vector<KeyDeclaration>& declared) {
  std::vector<ConfigKey> keys;
  for (const auto& d : declared) {
    ConfigKey key{d.path, d.type, d.accepts, flow_text(d.value), ""};
    for (const auto& o : env_overrides()) {
      if (key.name() == o.key_path) key.env = o.variable;
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

// root[path[0]][path[1]]... = value, making maps on the way. Each level is a
// fresh handle: assigning one yaml-cpp node to another merges them instead.
void put(YAML::Node map, const std::vector<std::string>& path, std::size_t at,
         const YAML::Node& value) {
  if (at + 1 == path.size()) {
    map[path[at]] = value;
    return;
  }
  if (!map[path[at]].IsMap()) map[path[at]] = YAML::Node(YAML::NodeType::Map);
  put(map[path[at]], path, at + 1, value);
}

}  // namespace

std::string ConfigKey::name() const {
  std::string joined;
  for (const auto& part : path) joined += (joined.empty() ? "" : ".") + part;
  return joined;
}

std::vector<ConfigKey> config_keys(const Config& config) {
  return keys_of(declarations(config, false));
}

std::vector<ConfigKey> documented_keys() { return keys_of(declarations(Config{}, true)); }

std::string to_yaml(const Config& config) {
  YAML::Node root(YAML::NodeType::Map);
  for (const auto& d : declarations(config, false)) {
    if (!d.value.IsNull()) put(root, d.path, 0, d.value);
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

std::string docs_row(const ConfigKey& key) {
  auto code = [](const std::string& text) { return text.empty() ? "" : "`" + text + "`"; };
  return "| " + code(key.name()) + " | " + key.type + " | " +
         (key.value.empty() ? "unset" : code(key.value)) + " | " + key.accepts + " | " +
         code(key.env) + " |";
}

}  // namespace nightshift::config
