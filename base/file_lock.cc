#include "base/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

namespace nightshift {
namespace {

pid_t read_pid(int fd) {
  char text[32] = {};
  ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
  if (n <= 0) return 0;
  return static_cast<pid_t>(std::strtol(text, nullptr, 10));
}

}  // namespace

FileLock FileLock::try_acquire(const std::string& path) {
  FileLock lock;
  lock.path_ = path;
  std::error_code ec;
  auto folder = std::filesystem::path(path).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder, ec);
  // No O_CLOEXEC: the stages started from this process inherit the lock.
  int fd = open(path.c_str(), O_RDWR | O_CREAT, 0600);
  if (fd < 0) {
    lock.error_ = "cannot open lock file " + path + ": " + std::strerror(errno);
    return lock;
  }
  int rc;
  while ((rc = flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    if (errno == EWOULDBLOCK) {
      lock.state_ = State::busy;
      lock.holder_ = read_pid(fd);
    } else {
      lock.error_ = "cannot lock " + path + ": " + std::strerror(errno);
    }
    close(fd);
    return lock;
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The lock holds without the note; only the "who" of a refusal is lost.
  }
  lock.fd_ = fd;
  lock.state_ = State::held;
  return lock;
}

FileLock::FileLock(FileLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      state_(std::exchange(other.state_, State::failed)),
      holder_(other.holder_),
      error_(std::move(other.error_)),
      path_(std::move(other.path_)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    state_ = std::exchange(other.state_, State::failed);
    holder_ = other.holder_;
    error_ = std::move(other.error_);
    path_ = std::move(other.path_);
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace nightshift
