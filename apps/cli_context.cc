#include "apps/cli_context.h"

#include <iostream>
#include <sstream>

#include "base/log.h"
#include "base/process.h"
#include "broker/curve_keys.h"

namespace nightshift::cli {

std::optional<config::Config> load_config_or_report(const GlobalOptions& options) {
  auto loaded = config::load_config(options.config_path);
  if (!loaded) {
    // One line per problem, each naming file, line and key, so that a single
    // cause is a single line (and each line can be grepped on its own).
    std::istringstream problems(loaded.error());
    for (std::string line; std::getline(problems, line);) {
      if (!line.empty()) std::cerr << "nightshift: invalid configuration: " << line << "\n";
    }
    return std::nullopt;
  }
  return std::move(*loaded);
}

std::optional<config::Config> load_bus_config_or_report(const GlobalOptions& options) {
  auto config = load_config_or_report(options);
  if (!config) return std::nullopt;
  if (Status secure = bus::load_security(*config); !secure) {
    std::cerr << "nightshift: " << secure.error() << "\n";
    return std::nullopt;
  }
  return config;
}

std::optional<config::Config> begin_command(const std::string& name, const GlobalOptions& options,
                                            StopSignals signals) {
  auto config = load_config_or_report(options);
  if (!config) return std::nullopt;
  setup_logging(name, config->logging, options.log_level);
  if (Status secure = bus::load_security(*config); !secure) {
    std::cerr << "nightshift: " << secure.error() << "\n";
    return std::nullopt;
  }
  if (signals == StopSignals::flag) install_stop_signals();
  return config;
}

}  // namespace nightshift::cli
