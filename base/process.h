// Process facts and lifecycle: host name, clock, stop signals.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace nightshift {

int64_t now_ns();
std::string host_name();

// Installs SIGINT/SIGTERM handlers that set a flag (and ignores SIGPIPE).
// Loops poll stop_requested() between bounded waits.
void install_stop_signals();
bool stop_requested();
void request_stop();
// The signal that asked us to stop (0 if none).
int stop_signal();

}  // namespace nightshift
