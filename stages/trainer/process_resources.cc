#include "stages/trainer/process_resources.h"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

namespace nightshift::trainer {
namespace {

uint64_t status_kb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
  }
  return 0;
}

}  // namespace

Status apply_memory_cap(uint64_t cap_bytes) {
  struct rlimit limit {};
  limit.rlim_cur = cap_bytes;
  limit.rlim_max = cap_bytes;
  if (setrlimit(RLIMIT_DATA, &limit) != 0) {
    return make_error(std::string("setrlimit(RLIMIT_DATA) failed: ") + std::strerror(errno));
  }
  return Status::success();
}

uint64_t current_rss_bytes() { return status_kb("VmRSS") * 1024; }

uint64_t peak_rss_bytes() { return status_kb("VmHWM") * 1024; }

void reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";  // resets VmHWM to the current RSS
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace nightshift::trainer
