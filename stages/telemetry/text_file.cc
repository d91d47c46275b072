#include "stages/telemetry/text_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>

namespace nightshift::telemetry {

// read(2) straight into a string: sysfs and proc files are small, and this
// runs at up to 100 Hz, so no iostreams.
Result<std::string> read_text_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(path + ": " + std::strerror(errno));
  std::string text;
  char buffer[4096];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return make_error(path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

Result<int64_t> read_int_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return text.take_error();
  const char* begin = text->data();
  const char* end = begin + text->size();
  while (begin < end && (*begin == ' ' || *begin == '\t')) ++begin;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr == begin) return make_error(path + ": not an integer");
  return value;
}

Result<double> parse_dpm_current_mhz(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find('*') == std::string::npos) continue;
    auto colon = line.find(':');
    if (colon == std::string::npos) break;
    const char* begin = line.data() + colon + 1;
    const char* end = line.data() + line.size();
    while (begin < end && *begin == ' ') ++begin;
    int64_t mhz = 0;
    auto [ptr, ec] = std::from_chars(begin, end, mhz);
    if (ec != std::errc() || ptr == begin) return make_error("DPM level without a number");
    return static_cast<double>(mhz);
  }
  return make_error("no DPM level marked current ('*')");
}

std::vector<std::string> list_dir(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (name.compare(0, prefix.size(), prefix) == 0) names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace nightshift::telemetry
