#include "base/private_dir.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace nightshift {

std::string make_private_dir(const std::string& path) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return "cannot create folder " + path + ": " + std::strerror(errno);
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return "cannot inspect " + path + ": " + std::strerror(errno);
  if (!S_ISDIR(st.st_mode)) return path + " is not a folder";
  if (st.st_uid != geteuid()) {
    return path + " belongs to uid " + std::to_string(st.st_uid) + ", not to us (uid " +
           std::to_string(geteuid()) + "): another user could reach the bus";
  }
  // mkdir's mode passed through the umask; an existing folder may be wider.
  if ((st.st_mode & 07777) != 0700 && chmod(path.c_str(), 0700) != 0) {
    return "cannot make " + path + " private (0700): " + std::strerror(errno);
  }
  return "";
}

std::size_t max_ipc_path_bytes() { return sizeof(sockaddr_un{}.sun_path) - 1; }

}  // namespace nightshift
