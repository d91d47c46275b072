// SharedLibrary: a vendor library opened at run time (dlopen), so the binary
// runs on machines that do not have it. Thin RAII over dlopen/dlsym.
#pragma once

#include <string>

#include "schema/result.h"

namespace nightshift::telemetry {

class SharedLibrary {
 public:
  // Opens `file` (a soname such as "libnvidia-ml.so.1" or a path). The error
  // reads "library missing: <dlerror text>".
  static Result<SharedLibrary> open(const std::string& file);

  SharedLibrary(SharedLibrary&& other) noexcept;
  SharedLibrary& operator=(SharedLibrary&& other) noexcept;
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;
  ~SharedLibrary();

  // The address of `symbol`, or nullptr if the library lacks it.
  void* find(const char* symbol) const;

  // Loads `symbol` into the function pointer `out`; false if absent.
  template <typename Fn>
  bool load(const char* symbol, Fn*& out) const {
    out = reinterpret_cast<Fn*>(find(symbol));
    return out != nullptr;
  }

 private:
  explicit SharedLibrary(void* handle) : handle_(handle) {}
  void* handle_ = nullptr;
};

// Points fd 2 at /dev/null for its lifetime: vendor libraries that print on
// machines without their hardware (rsmi_init) must not spill into our output.
class QuietStderr {
 public:
  QuietStderr();
  ~QuietStderr();
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;

 private:
  int saved_fd_ = -1;
};

}  // namespace nightshift::telemetry
