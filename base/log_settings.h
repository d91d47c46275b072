// What a process's logger is configured with: the `logging:` section of the
// config, declared here so that base/ needs nothing above it.
#pragma once

#include <string>

namespace nightshift {

struct LogSettings {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  std::string file;            // empty: console only
  int max_file_mb = 10;
  int max_files = 5;
};

}  // namespace nightshift
