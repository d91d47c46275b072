#include "apps/cli_context.h"

#include <iostream>
#include <sstream>

#include "stages/common/log.h"

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

void start_logging(const std::string& stage, const config::Config& config,
                   const GlobalOptions& options) {
  setup_logging(stage, config.logging, options.log_level);
}

}  // namespace nightshift::cli
