#include "base/log.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <fmt/format.h>

#include <filesystem>
#include <vector>

namespace nightshift {

std::shared_ptr<spdlog::logger> setup_logging(const std::string& stage,
                                              const LogSettings& logging,
                                              const std::string& level_override) {
  std::vector<spdlog::sink_ptr> sinks;
  // Logs go to stderr so that stdout stays clean for data (JSON lines, tables).
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!logging.file.empty()) {
    std::filesystem::path file(logging.file);
    if (file.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(file.parent_path(), ec);
    }
    sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
        logging.file, static_cast<std::size_t>(logging.max_file_mb) * 1024 * 1024,
        static_cast<std::size_t>(logging.max_files)));
  }
  spdlog::drop(stage);
  auto logger = std::make_shared<spdlog::logger>(stage, sinks.begin(), sinks.end());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n:%P] %v");
  const std::string& level = level_override.empty() ? logging.level : level_override;
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::warn);
  spdlog::register_logger(logger);
  spdlog::set_default_logger(logger);
  return logger;
}

// Bad input quotes bytes from the wire (a topic, a type name). Written as
// they came, a newline would forge a log line of its own (and the
// supervisor reports a stage's last line as its reason to stop).
std::string loggable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

void RateLimitedLog::warn(std::string_view raw) {
  ++total_;
  auto now = std::chrono::steady_clock::now();
  if (last_ != std::chrono::steady_clock::time_point{} && now - last_ < interval_) {
    ++suppressed_;
    return;
  }
  const std::string message = loggable(raw);
  if (suppressed_ > 0) {
    spdlog::warn("{} ({} similar suppressed)", message, suppressed_);
  } else {
    spdlog::warn("{}", message);
  }
  suppressed_ = 0;
  last_ = now;
}

}  // namespace nightshift
