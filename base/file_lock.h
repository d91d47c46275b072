// An exclusive advisory lock on a file (flock), held for as long as any
// process keeps the descriptor open. The descriptor is inherited across fork
// and exec on purpose: the night run's stages keep the run's lock held after
// their supervisor died, until the last of them exits, so a `resume` cannot
// overlap an orphaned scheduler. The kernel drops the lock with the last
// descriptor, so a crash never leaves a stale lock behind.
#pragma once

#include <sys/types.h>

#include <string>

namespace nightshift {

class FileLock {
 public:
  enum class State { held, busy, failed };

  // Creates `path` (mode 0600; its folder too, if missing) and takes the lock
  // without waiting. On success the lock file holds our pid, so the next
  // process to try can say who has it.
  static FileLock try_acquire(const std::string& path);

  FileLock() = default;
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();  // releases the lock (other holders of the descriptor keep it)

  State state() const { return state_; }
  bool held() const { return state_ == State::held; }
  // busy: the pid written by the holder when it took the lock (0 if unknown).
  pid_t holder() const { return holder_; }
  // failed: why (the file could not be created or locked).
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  State state_ = State::failed;
  pid_t holder_ = 0;
  std::string error_;
  std::string path_;
};

}  // namespace nightshift
