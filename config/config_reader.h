// ConfigReader: reads one YAML mapping into typed fields with validation.
// Every problem is recorded as "<file>:<line>: <key path>: <what>"; unknown
// keys are reported with the closest known key as a suggestion. Sections
// (config/*_config.cc) describe their keys through this class only.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nightshift::config {

// One key as a section declares it. Reading an empty document with
// Diagnostics::declarations set walks every key a section knows, each with
// the value it holds: config_keys.h builds the docs table and `config show`
// from that walk, so neither can miss a key the reader reads.
struct KeyDeclaration {
  std::vector<std::string> path;  // {"bus", "linger_ms"}
  std::string type;               // integer, number, boolean, string, list of strings, ...
  std::string accepts;            // "[0, 60000]", "one of: a, b"; empty: anything of the type
  YAML::Node value;               // the value held before reading; Null when unset
};

struct Diagnostics {
  std::string file;                           // shown in messages
  std::map<std::string, std::string> origin;  // key path -> env var that set it
  std::vector<std::string> errors;
  // When set, every field(), choice(), list() and entries() call appends its
  // declaration here.
  std::vector<KeyDeclaration>* declarations = nullptr;
  // With declarations: entries() yields one entry named by a placeholder
  // ("<symbol>") instead of the entries the config holds.
  bool placeholder_entries = false;
};

class ConfigReader {
 public:
  ConfigReader(YAML::Node node, std::vector<std::string> path, Diagnostics& diagnostics);

  // Each returns whether the document set the key (and the value was valid).
  bool field(const char* key, bool& out);
  bool field(const char* key, int64_t& out, int64_t min, int64_t max);
  bool field(const char* key, int& out, int min, int max);
  // An integer key with no default: nullopt stays unless the document sets it.
  bool field(const char* key, std::optional<int>& out, int min, int max);
  bool field(const char* key, double& out, double min, double max);
  bool field(const char* key, std::string& out);
  // A ZeroMQ endpoint: tcp://, ipc:// or inproc://.
  bool endpoint(const char* key, std::string& out);
  // A string that must be one of `allowed`.
  bool choice(const char* key, std::string& out, const std::vector<std::string>& allowed);
  bool list(const char* key, std::vector<std::string>& out, bool non_empty = false);
  // A list whose every item must be one of `allowed`; `noun` names an item
  // in the error ("unknown timeframe '2h' (known: ...)").
  bool list(const char* key, std::vector<std::string>& out, const std::vector<std::string>& allowed,
            const char* noun, bool non_empty = false);
  bool list(const char* key, std::vector<int>& out, int min, int max, bool non_empty = false);
  bool list(const char* key, std::vector<double>& out, double min, double max,
            bool non_empty = false);
  // A nested mapping; absent leaves defaults in place.
  ConfigReader section(const char* key);
  // A nested mapping whose keys are free, each a `what` (e.g. "symbol").
  // When declaring, yields the entries named in `held` (what the config
  // holds), or one named "<what>" (Diagnostics::placeholder_entries).
  std::vector<std::pair<std::string, ConfigReader>> entries(const char* key,
                                                            const std::vector<std::string>& held,
                                                            const char* what);

  // Reports keys present in the YAML that no field() call asked for.
  void finish();

  void error(const char* key, const std::string& what);
  // The same, on the line of the key itself (a name that is wrong) rather
  // than of its value.
  void key_error(const char* key, const std::string& what);

 private:
  std::optional<YAML::Node> get(const char* key);
  std::string where(const char* key, const YAML::Node* node) const;
  std::string join(const char* key) const;
  void declare(const char* key, std::string type, std::string accepts, YAML::Node value);

  YAML::Node node_;
  std::vector<std::string> path_;
  Diagnostics& diag_;
  std::set<std::string> known_;
  bool valid_ = true;
};

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b);
// The entry of `known` nearest to `name` (edit distance under 3), or "".
std::string closest_name(const std::string& name, const std::vector<std::string>& known);

}  // namespace nightshift::config
