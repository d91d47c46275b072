#include "stages/telemetry/kernel_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace nightshift::telemetry {
namespace {

// Enough for /proc/meminfo, loadavg, <pid>/stat and /proc/stat up to a few
// dozen CPUs in one read; bigger files grow the buffer once.
constexpr std::size_t kInitialBytes = 4096;
// /proc/stat of a very large machine is well under this; anything bigger is
// not a file we mean to sample.
constexpr std::size_t kMaxBytes = 16u << 20;

}  // namespace

Result<KernelFile> KernelFile::open(std::string path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(path + ": " + std::strerror(errno));
  return KernelFile(fd, std::move(path));
}

KernelFile::KernelFile(KernelFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      buffer_(std::move(other.buffer_)) {}

KernelFile& KernelFile::operator=(KernelFile&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

KernelFile::~KernelFile() { close(); }

void KernelFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<std::string_view> KernelFile::read() {
  if (fd_ < 0) return make_error(path_ + ": not open");
  if (buffer_.size() < kInitialBytes) buffer_.resize(kInitialBytes);
  while (true) {
    ssize_t n = ::pread(fd_, buffer_.data(), buffer_.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(path_ + ": " + std::strerror(errno));
    }
    // procfs (seq_file) and sysfs fill the whole buffer while the file has
    // more, and a regular file is short only at its end: a short read is the
    // whole file. A full buffer may have cut it, so grow and read it again
    // from the start, which keeps the text one consistent snapshot.
    auto got = static_cast<std::size_t>(n);
    if (got < buffer_.size()) return std::string_view(buffer_.data(), got);
    if (buffer_.size() >= kMaxBytes) return make_error(path_ + ": larger than 16 MiB");
    buffer_.resize(buffer_.size() * 2);
  }
}

}  // namespace nightshift::telemetry
