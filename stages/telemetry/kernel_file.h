// KernelFile: a /proc or /sys text file opened once and re-read with a single
// pread(2) from offset 0 on every read. The kernel regenerates these files on
// each read from offset 0, so a kept descriptor always sees current values,
// and a sample costs one system call per file instead of open + read + read +
// close. For /proc/<pid>/... the descriptor stays bound to that process: once
// it has gone, reads fail (ESRCH) rather than show a process that reused the
// pid.
//
// A regular file (test fixtures) is read the same way, so rewriting it in
// place shows; replacing it by rename does not (kernel files never are).
#pragma once

#include <string>
#include <string_view>

#include "schema/result.h"

namespace nightshift::telemetry {

class KernelFile {
 public:
  KernelFile() = default;
  // Opens `path` read-only; the error names the file.
  static Result<KernelFile> open(std::string path);

  KernelFile(KernelFile&& other) noexcept;
  KernelFile& operator=(KernelFile&& other) noexcept;
  KernelFile(const KernelFile&) = delete;
  KernelFile& operator=(const KernelFile&) = delete;
  ~KernelFile();

  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

  // The whole current contents. The view points into this object's buffer
  // and is valid until the next read(), move or destruction.
  Result<std::string_view> read();

 private:
  KernelFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  void close();

  int fd_ = -1;
  std::string path_;
  std::string buffer_;  // grows to fit the file, then is reused
};

}  // namespace nightshift::telemetry
