#include "stages/replay/replay_control.h"

#include <poll.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>

#include "broker/socket_options.h"
#include "schema/topics.h"

namespace nightshift::replay {
namespace {

constexpr std::size_t kMaxFrames = 16;
constexpr double kSkipSeconds = 10;

}  // namespace

Result<ReplayCommand> parse_command(std::string_view text) {
  auto space = text.find(' ');
  std::string_view verb = text.substr(0, space);
  std::string_view argument =
      space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
  using Kind = ReplayCommand::Kind;
  ReplayCommand command;
  if (verb == "pause" || verb == "resume" || verb == "status") {
    if (!argument.empty()) return make_error(ErrorKind::invalid_input, std::string(verb) + " takes no argument");
    command.kind = verb == "pause" ? Kind::pause : verb == "resume" ? Kind::resume : Kind::status;
    return command;
  }
  if (verb == "seek") {
    if (argument.empty()) return make_error(ErrorKind::invalid_input, "seek needs a time (e.g. seek 90s)");
    command.kind = Kind::seek;
    command.time = std::string(argument);
    return command;
  }
  if (verb == "speed") {
    command.kind = Kind::speed;
    if (argument == "max") return command;  // value 0: as fast as possible
    std::string digits(argument);
    char* end = nullptr;
    double value = digits.empty() ? NAN : std::strtod(digits.c_str(), &end);
    if (digits.empty() || *end != '\0' || !std::isfinite(value) || value <= 0 || value > 1e6) {
      return make_error(ErrorKind::invalid_input,
                        "speed needs a number > 0 (at most 1e6) or 'max', not '" + digits + "'");
    }
    command.value = value;
    return command;
  }
  return make_error(ErrorKind::invalid_input,
                    "unknown replay command '" + std::string(text.substr(0, 40)) +
                        "' (pause, resume, seek T, speed X, status)");
}

std::string control_endpoint(const config::Config& config, const std::string& run) {
  const std::string& base = config.replay.control;
  if (base.rfind("ipc://", 0) != 0) return base;
  return base + "-" + topics::segment(run);
}

Result<ControlEndpoint> ControlEndpoint::bind(zmq::context_t& context,
                                              const config::Config& config,
                                              const std::string& run) {
  auto socket = bus::bind_socket(context, zmq::socket_type::router,
                                 control_endpoint(config, run), config.bus);
  if (!socket) return socket.take_error();
  return ControlEndpoint(std::move(*socket));
}

std::optional<std::string> ControlEndpoint::receive() {
  try {
    while (true) {
      zmq::message_t frame;
      if (!socket_.recv(frame, zmq::recv_flags::dontwait)) return std::nullopt;
      envelope_.clear();
      std::vector<std::string> parts;
      bool delimited = false;
      std::size_t frames = 0;
      bool more = true;
      while (true) {
        ++frames;
        more = frame.more();
        if (frames <= kMaxFrames) {
          if (delimited) {
            parts.emplace_back(frame.to_string());
          } else {
            delimited = !envelope_.empty() && frame.size() == 0;
            envelope_.push_back(std::move(frame));
          }
        }
        if (!more || !socket_.recv(frame, zmq::recv_flags::dontwait)) break;
      }
      if (delimited && parts.size() == 1 && frames <= kMaxFrames) return parts[0].substr(0, 200);
      ++dropped_;  // not what a REQ sends: no one to answer
    }
  } catch (const zmq::error_t&) {
    return std::nullopt;
  }
}

void ControlEndpoint::answer(const std::string& reply) {
  try {
    // A ROUTER drops what it cannot route, so nothing here waits.
    for (auto& hop : envelope_) {
      if (!socket_.send(hop, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return;
    }
    (void)socket_.send(zmq::buffer(reply), zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {
  }
  envelope_.clear();
}

std::optional<TerminalKeys> TerminalKeys::attach() {
  if (isatty(0) == 0) return std::nullopt;
  termios saved{};
  if (tcgetattr(0, &saved) != 0) return std::nullopt;
  termios raw = saved;
  raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
  raw.c_cc[VMIN] = 0;
  raw.c_cc[VTIME] = 0;
  if (tcsetattr(0, TCSANOW, &raw) != 0) return std::nullopt;
  return TerminalKeys(saved);
}

TerminalKeys::TerminalKeys(TerminalKeys&& other) noexcept
    : saved_(other.saved_), attached_(other.attached_), pending_(std::move(other.pending_)) {
  other.attached_ = false;
}

TerminalKeys::~TerminalKeys() {
  if (attached_) tcsetattr(0, TCSANOW, &saved_);
}

std::vector<ReplayCommand> TerminalKeys::read() {
  std::vector<ReplayCommand> out;
  char buffer[64];
  pollfd item{0, POLLIN, 0};
  while (poll(&item, 1, 0) > 0 && (item.revents & POLLIN) != 0) {
    ssize_t n = ::read(0, buffer, sizeof buffer);
    if (n <= 0) break;
    pending_.append(buffer, static_cast<std::size_t>(n));
  }
  using Kind = ReplayCommand::Kind;
  std::size_t i = 0;
  while (i < pending_.size()) {
    char c = pending_[i];
    if (c == '\x1b') {
      if (i + 2 >= pending_.size()) break;  // wait for the rest of the sequence
      if (pending_[i + 1] == '[' && (pending_[i + 2] == 'C' || pending_[i + 2] == 'D')) {
        ReplayCommand skip{Kind::skip, "", pending_[i + 2] == 'C' ? kSkipSeconds : -kSkipSeconds};
        out.push_back(skip);
      }
      i += 3;
      continue;
    }
    if (c == ' ') out.push_back({Kind::toggle, "", 0});
    if (c == '+' || c == '=') out.push_back({Kind::faster, "", 0});
    if (c == '-' || c == '_') out.push_back({Kind::slower, "", 0});
    if (c == 'q') out.push_back({Kind::quit, "", 0});
    ++i;
  }
  pending_.erase(0, i);
  return out;
}

}  // namespace nightshift::replay
