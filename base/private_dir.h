// Folders only their owner may enter (0700): where the single-host bus keeps
// its ipc:// sockets, so other local users cannot reach them. A Unix socket's
// own mode is not a reliable guard; the folder's is.
#pragma once

#include <cstddef>
#include <string>

namespace nightshift {

// Creates `path` with mode 0700 (its missing parents with the usual mode),
// or, when it exists, checks that it is a folder owned by us and narrows its
// mode to 0700. Empty on success, else one line saying what is wrong.
std::string make_private_dir(const std::string& path);

// The longest path an ipc:// endpoint can name (sun_path less its NUL).
std::size_t max_ipc_path_bytes();

}  // namespace nightshift
