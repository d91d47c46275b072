// Steering a running replay: its control endpoint (`nightshift replay-ctl`)
// and, when stdin is a terminal, keys. Both produce ReplayCommands.
//
// The endpoint is a ROUTER bound at control_endpoint(): a request is
// answered only when it is [envelope][empty][command], what a REQ sends;
// anything else is dropped and counted, as at the broker's control endpoint.
// The reply is one line of JSON: the replay's state after the command, or
// {"error": "..."}.
#pragma once

#include <termios.h>
#include <zmq.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "schema/result.h"

namespace nightshift::replay {

struct ReplayCommand {
  enum class Kind { pause, resume, toggle, seek, skip, speed, faster, slower, status, quit };
  Kind kind = Kind::status;
  std::string time;     // seek: a point (replay_time.h)
  double value = 0;     // skip: seconds (may be negative); speed: the new speed
};

// "pause", "resume", "seek T", "speed X" (X > 0, or "max"), "status".
Result<ReplayCommand> parse_command(std::string_view text);

// The endpoint a replay of `run` binds: replay.control, plus "-<run>" for
// an ipc:// endpoint (one socket file per replayed run).
std::string control_endpoint(const config::Config& config, const std::string& run);

class ControlEndpoint {
 public:
  static Result<ControlEndpoint> bind(zmq::context_t& context, const config::Config& config,
                                      const std::string& run);
  // A waiting request, if any (never waits). Its reply must follow through
  // answer() before the next receive().
  std::optional<std::string> receive();
  void answer(const std::string& reply);
  uint64_t dropped() const { return dropped_; }
  zmq::socket_t& socket() { return socket_; }

 private:
  explicit ControlEndpoint(zmq::socket_t socket) : socket_(std::move(socket)) {}
  zmq::socket_t socket_;
  std::vector<zmq::message_t> envelope_;
  uint64_t dropped_ = 0;
};

// Single keys from a terminal on stdin: space pauses/resumes, right/left
// arrows skip 10 s forward/back, +/- double/halve the speed, q quits. The
// terminal is put in non-canonical, no-echo mode while attached.
class TerminalKeys {
 public:
  // nullopt when stdin is not a terminal.
  static std::optional<TerminalKeys> attach();
  ~TerminalKeys();
  TerminalKeys(TerminalKeys&& other) noexcept;
  TerminalKeys& operator=(TerminalKeys&&) = delete;
  TerminalKeys(const TerminalKeys&) = delete;

  int fd() const { return 0; }
  // Commands from the keys typed so far (reads what is there, never waits).
  std::vector<ReplayCommand> read();

 private:
  explicit TerminalKeys(termios saved) : saved_(saved) {}
  termios saved_{};
  bool attached_ = true;
  std::string pending_;  // an escape sequence cut in two
};

}  // namespace nightshift::replay
