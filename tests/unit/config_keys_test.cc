// The walk of the reader's own declarations (config/config_keys.h) against
// the docs table and the shipped file, and `to_yaml` (what `config show`
// prints) read back.
#include "config/config_keys.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace nightshift::config {
namespace {

std::string source_dir() {
  const char* dir = std::getenv("NIGHTSHIFT_SOURCE_DIR");
  return dir ? dir : ".";
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::map<std::string, std::string> values_of(const std::vector<ConfigKey>& keys) {
  std::map<std::string, std::string> values;
  for (const auto& key : keys) values[key.name()] = key.value;
  return values;
}

// The rows between the markers of docs/configuration.md, by key.
std::map<std::string, std::string> docs_rows() {
  std::istringstream docs(read_text(source_dir() + "/docs/configuration.md"));
  std::map<std::string, std::string> rows;
  bool inside = false;
  for (std::string line; std::getline(docs, line);) {
    if (line == "<!-- keys: begin -->") inside = true;
    if (line == "<!-- keys: end -->") inside = false;
    if (!inside || line.rfind("| `", 0) != 0) continue;
    std::string key = line.substr(3, line.find('`', 3) - 3);
    EXPECT_TRUE(rows.emplace(key, line).second) << "docs/configuration.md: two rows for " << key;
  }
  return rows;
}

TEST(ConfigKeys, DocsTableHasARowPerKeyWithTheReadersDefaultRangeAndVariable) {
  auto rows = docs_rows();
  ASSERT_FALSE(rows.empty()) << "no key rows between the markers of docs/configuration.md";
  std::string missing;
  for (const auto& key : documented_keys()) {
    std::string expected = docs_row(key);
    auto row = rows.find(key.name());
    if (row == rows.end()) {
      missing += expected + " what it means |\n";
      continue;
    }
    // The row is the generated cells, then a description written by hand.
    EXPECT_EQ(row->second.substr(0, expected.size()), expected) << key.name();
    std::string meaning = row->second.substr(std::min(expected.size(), row->second.size()));
    EXPECT_GT(meaning.size(), std::string("  |").size())
        << key.name() << ": the row says nothing about what the key means";
    rows.erase(row);
  }
  EXPECT_EQ(missing, "") << "docs/configuration.md lacks these rows:\n" << missing;
  for (const auto& [key, row] : rows) ADD_FAILURE() << "documented key the reader does not read: " << key;
}

TEST(ConfigKeys, TheWalkHoldsEveryKindOfKeyOnce) {
  auto keys = documented_keys();
  std::map<std::string, ConfigKey> by_name;
  for (const auto& key : keys) {
    EXPECT_TRUE(by_name.emplace(key.name(), key).second) << "declared twice: " << key.name();
  }
  // One of each kind of declaration, with what the reader asks of it.
  EXPECT_EQ(by_name.at("bus.linger_ms").accepts, "[0, 60000]");
  EXPECT_EQ(by_name.at("bus.linger_ms").value, "500");
  EXPECT_EQ(by_name.at("memory_threshold").type, "number");
  EXPECT_EQ(by_name.at("memory_threshold").accepts, "[0.1, 1]");
  EXPECT_EQ(by_name.at("max_memory_per_process").value, "2.0");
  EXPECT_EQ(by_name.at("max_memory_per_process").env, "NIGHTSHIFT_MAX_MEMORY_GB");
  EXPECT_EQ(by_name.at("logging.level").accepts,
            "one of: trace, debug, info, warn, error, critical, off");
  EXPECT_EQ(by_name.at("logging.file").value, "\"\"");
  EXPECT_EQ(by_name.at("timeframes").value, "[1m, 5m, 15m, 1h, 4h, 1d]");
  EXPECT_EQ(by_name.at("timeframes").accepts,
            "at least one, each one of: 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w");
  EXPECT_EQ(by_name.at("horizons").accepts, "at least one, each in [1, 10000]");
  EXPECT_EQ(by_name.at("telemetry.simulated.temp_profile_c").value, "[]");
  EXPECT_EQ(by_name.at("fetcher.history_days_by_timeframe.1d").value, "1825");
  EXPECT_EQ(by_name.at("fetcher.history_days_by_timeframe.1h").value, "");  // unset
  EXPECT_EQ(by_name.at("fetcher.synthetic_signals").value, "{}");
  EXPECT_EQ(by_name.at("fetcher.synthetic_signals.<symbol>.strength").accepts, "[0, 0.99]");
  EXPECT_EQ(by_name.at("fetcher.binance.circuit_cooldown_s").value, "300");
  // Every environment override names a key the reader reads.
  for (const auto& o : env_overrides()) {
    auto key = by_name.find(o.key_path);
    ASSERT_NE(key, by_name.end()) << o.variable << " overrides unknown key " << o.key_path;
    EXPECT_EQ(key->second.env, o.variable);
  }
}

// A config far from the defaults in every section, so that a key the walk
// loses or prints wrong changes what comes back.
const char* kUnusual = R"(
symbols: [AAA, "BRK.B"]
timeframes: [30m, 1w]
horizons: [2]
num_workers: 3
max_memory_per_process: 1.5
promote_if: {max_auc_p_value: 0.01}
bus: {events_in: "ipc:///tmp/x", max_message_bytes: 4096, pipeline_hwm: 7}
logging: {level: debug, file: "var/log/n.log"}
scheduler: {sampler: tpe, trials_per_study: 9}
telemetry:
  backends: [simulated]
  simulated_gpus: 2
  simulated: {gpus: 3, temp_profile_c: [-5, 90]}
  alerts: {hysteresis_c: 1.25}
fetcher:
  source: csv
  history_days_by_timeframe: {1h: 100, 1d: 7}
  synthetic_seed: 9007199254740993
  synthetic_signals: {AAA: {strength: 0.3}, "BRK.B": {}}
  yahoo: {requests_per_s: 0.125}
)";

TEST(ConfigKeys, ToYamlReadsBackToTheSameConfigKeyByKey) {
  auto unusual = load_config_text(kUnusual, "unusual.yaml");
  ASSERT_TRUE(unusual) << unusual.error();
  std::string yaml = to_yaml(*unusual);
  auto back = load_config_text(yaml, "shown.yaml");
  ASSERT_TRUE(back) << back.error() << "\n" << yaml;
  EXPECT_EQ(values_of(config_keys(*back)), values_of(config_keys(*unusual))) << yaml;

  // Spot checks that the walk saw the unusual values, not the defaults.
  auto values = values_of(config_keys(*unusual));
  EXPECT_EQ(values.at("telemetry.simulated_gpus"), "2");
  EXPECT_EQ(values.at("telemetry.simulated.gpus"), "3");
  EXPECT_EQ(values.at("fetcher.history_days_by_timeframe.1h"), "100");
  EXPECT_EQ(values.at("fetcher.history_days_by_timeframe.1m"), "29");  // a default kept
  EXPECT_EQ(values.at("fetcher.synthetic_signals.AAA.strength"), "0.3");
  EXPECT_EQ(values.at("fetcher.synthetic_signals.BRK.B.strength"), "0.0");
  EXPECT_EQ(values.at("fetcher.synthetic_seed"), "9007199254740993");
  EXPECT_EQ(values.at("telemetry.alerts.hysteresis_c"), "1.25");
  EXPECT_EQ(back->fetcher.synthetic_signals.at("BRK.B"), 0.0);
  EXPECT_EQ(back->symbols, (std::vector<std::string>{"AAA", "BRK.B"}));
  EXPECT_EQ(back->telemetry.simulated.temp_profile_c, (std::vector<int>{-5, 90}));
}

TEST(ConfigKeys, ToYamlOfTheDefaultsNamesEveryKeyThatIsSet) {
  const YAML::Node shown = YAML::Load(to_yaml(Config{}));
  for (const auto& key : config_keys(Config{})) {
    YAML::Node node = shown;
    for (const auto& part : key.path) {
      if (node.IsMap()) node.reset(node[part]);
      else node.reset(YAML::Node());
    }
    EXPECT_EQ(node.IsDefined() && !node.IsNull(), !key.value.empty()) << key.name();
  }
}

}  // namespace
}  // namespace nightshift::config
