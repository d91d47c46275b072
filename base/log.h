// Logging: one named spdlog logger per stage, console plus an optional
// rotating file; and a rate limiter for warnings about repeated bad input.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/log_settings.h"

namespace nightshift {

// Creates the stage's logger, registers it as the default and returns it.
// `level_override` (from --log-level) wins over the config when non-empty.
std::shared_ptr<spdlog::logger> setup_logging(const std::string& stage,
                                              const LogSettings& logging,
                                              const std::string& level_override = "");

// `text` from the wire made safe for a log line: every byte outside printable
// ASCII (a newline would forge a line of its own) written as \xNN.
std::string loggable(std::string_view text);

// Lets one message through per interval and counts the ones it swallowed, so
// a flood of malformed frames costs a line per interval, not a line each.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(std::chrono::milliseconds interval = std::chrono::seconds(5))
      : interval_(interval) {}

  // Logs `message` at warn level if the interval has passed, with the count
  // of messages suppressed since the last one.
  void warn(std::string_view message);
  uint64_t total() const { return total_; }

 private:
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point last_{};
  uint64_t suppressed_ = 0;
  uint64_t total_ = 0;
};

}  // namespace nightshift
