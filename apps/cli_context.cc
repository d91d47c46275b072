#include "apps/cli_context.h"

#include <iostream>

#include "stages/common/log.h"

namespace nightshift::cli {

std::optional<config::Config> load_config_or_report(const GlobalOptions& options) {
  auto loaded = config::load_config(options.config_path);
  if (!loaded) {
    std::cerr << "nightshift: invalid configuration:\n" << loaded.error() << "\n";
    return std::nullopt;
  }
  return std::move(*loaded);
}

void start_logging(const std::string& stage, const config::Config& config,
                   const GlobalOptions& options) {
  setup_logging(stage, config.logging, options.log_level);
}

}  // namespace nightshift::cli
