#include "stages/telemetry/shared_library.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

namespace nightshift::telemetry {

Result<SharedLibrary> SharedLibrary::open(const std::string& file) {
  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return make_error("library missing: " + std::string(why != nullptr ? why : file));
  }
  return SharedLibrary(handle);
}

SharedLibrary::SharedLibrary(SharedLibrary&& other) noexcept : handle_(other.handle_) {
  other.handle_ = nullptr;
}

SharedLibrary& SharedLibrary::operator=(SharedLibrary&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) ::dlclose(handle_);
    handle_ = other.handle_;
    other.handle_ = nullptr;
  }
  return *this;
}

SharedLibrary::~SharedLibrary() {
  if (handle_ != nullptr) ::dlclose(handle_);
}

void* SharedLibrary::find(const char* symbol) const {
  return handle_ == nullptr ? nullptr : ::dlsym(handle_, symbol);
}

QuietStderr::QuietStderr() {
  std::fflush(stderr);
  saved_fd_ = ::dup(2);
  int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (saved_fd_ >= 0 && null_fd >= 0) ::dup2(null_fd, 2);
  if (null_fd >= 0) ::close(null_fd);
}

QuietStderr::~QuietStderr() {
  std::fflush(stderr);
  if (saved_fd_ >= 0) {
    ::dup2(saved_fd_, 2);
    ::close(saved_fd_);
  }
}

}  // namespace nightshift::telemetry
