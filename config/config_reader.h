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

struct Diagnostics {
  std::string file;                           // shown in messages
  std::map<std::string, std::string> origin;  // key path -> env var that set it
  std::vector<std::string> errors;
};

class ConfigReader {
 public:
  ConfigReader(YAML::Node node, std::string path, Diagnostics& diagnostics);

  void field(const char* key, bool& out);
  void field(const char* key, int64_t& out, int64_t min, int64_t max);
  void field(const char* key, int& out, int min, int max);
  void field(const char* key, double& out, double min, double max);
  void field(const char* key, std::string& out);
  // A string that must be one of `allowed`.
  void choice(const char* key, std::string& out, const std::vector<std::string>& allowed);
  void list(const char* key, std::vector<std::string>& out, bool non_empty = false);
  void list(const char* key, std::vector<int>& out, int min, int max, bool non_empty = false);
  // A nested mapping; absent leaves defaults in place.
  ConfigReader section(const char* key);
  // A nested mapping whose keys are free (e.g. per-symbol settings).
  std::vector<std::pair<std::string, ConfigReader>> entries(const char* key);

  // Reports keys present in the YAML that no field() call asked for.
  void finish();

  void error(const char* key, const std::string& what);

 private:
  std::optional<YAML::Node> get(const char* key);
  std::string where(const char* key, const YAML::Node* node) const;
  std::string join(const char* key) const;

  YAML::Node node_;
  std::string path_;
  Diagnostics& diag_;
  std::set<std::string> known_;
  bool valid_ = true;
};

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace nightshift::config
