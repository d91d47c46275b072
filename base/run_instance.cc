#include "base/run_instance.h"

#include <sys/random.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace nightshift {

std::string run_instance() {
  const char* value = std::getenv(kInstanceVariable);
  return value == nullptr ? std::string() : std::string(value);
}

std::string new_run_instance() {
  uint64_t words[2] = {0, 0};
  if (getrandom(words, sizeof(words), 0) != static_cast<ssize_t>(sizeof(words))) {
    // No entropy source: still unique enough to tell two runs apart.
    words[0] = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    words[1] = static_cast<uint64_t>(getpid()) << 32 ^ reinterpret_cast<uintptr_t>(&words);
  }
  char text[33];
  std::snprintf(text, sizeof(text), "%016llx%016llx", static_cast<unsigned long long>(words[0]),
                static_cast<unsigned long long>(words[1]));
  return text;
}

}  // namespace nightshift
