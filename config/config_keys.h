// The keys of the config file, walked from the reader itself (a read of an
// empty document with Diagnostics::declarations set, config_reader.h): the
// table in docs/configuration.md, `nightshift config show`, and the tests
// that hold the docs and the shipped file to the reader. A key added to a
// section reader is in this list without anyone having to remember it.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace nightshift::config {

struct ConfigKey {
  std::vector<std::string> path;  // {"bus", "linger_ms"}
  std::string type;               // integer, number, boolean, string, list of ..., mapping
  std::string accepts;            // "[0, 60000]", "one of: a, b"; empty: anything of the type
  std::string value;              // YAML flow text; empty when the key is unset
  std::string env;                // the NIGHTSHIFT_* variable that overrides it, or empty

  std::string name() const;  // "bus.linger_ms"
};

// Every key the loader reads, in its order, with its value in `config`.
// Per-entry settings (fetcher.synthetic_signals.SYMBOL.strength) appear once
// per entry the config holds.
std::vector<ConfigKey> config_keys(const Config& config);

// The keys over the built-in defaults, per-entry settings once under their
// placeholder (<symbol>): the rows of docs/configuration.md.
std::vector<ConfigKey> documented_keys();

// `config` as block YAML holding every key that is set; load_config_text()
// of it gives the same keys and values back.
std::string to_yaml(const Config& config);

// A row of the docs table up to its last column (what the key means, which
// is written by hand): "| `key` | type | `default` | accepts | `ENV` |".
std::string docs_row(const ConfigKey& key);

}  // namespace nightshift::config
