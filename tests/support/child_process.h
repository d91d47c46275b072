// Test support: start real processes (the nightshift binary, scripts), read
// their output, signal and reap them; pick free loopback ports; build a bus
// config whose endpoints are private to one test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace nightshift::testing {

// Path of the nightshift binary under test (set by CMake).
std::string nightshift_binary();
// Source tree root (set by CMake).
std::string source_dir();

class ChildProcess {
 public:
  // Starts argv[0] with the given arguments and extra environment variables.
  // stdout and stderr go to files in a fresh temporary folder.
  ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env = {});
  ~ChildProcess();  // SIGKILLs and reaps if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int signo);
  // Waits for exit; returns the exit status (128+signal if killed), or
  // nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  std::string stdout_text() const;
  std::string stderr_text() const;
  // Waits until stdout has at least `lines` lines, or timeout.
  bool wait_for_lines(std::size_t lines, std::chrono::milliseconds timeout) const;
  // Waits until stdout or stderr contains `needle`, or timeout.
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string dir_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

// A bus config with fresh loopback ports for every endpoint, plus a YAML file
// holding it for child processes. `extra_yaml` is deep-merged over it (any
// section, e.g. "telemetry:\n  interval_ms: 100\n"); the file is validated
// by the real loader and `config` is what that loader returned.
struct TestBus {
  config::Config config;
  std::string config_path;
  std::string dir;  // temporary folder for this test's files
};
TestBus make_test_bus(const std::string& extra_yaml = "");

// A fresh temporary directory.
std::string make_temp_dir(const std::string& prefix = "nightshift-test");

}  // namespace nightshift::testing
