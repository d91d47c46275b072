#include "apps/stage_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace nightshift::cli {
namespace {

constexpr auto kQuickFailure = std::chrono::seconds(3);

[[noreturn]] void exec_child(const std::vector<std::string>& argv, const std::string& log_path,
                             pid_t parent) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the supervisor died before prctl
  int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
  }
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  dprintf(STDERR_FILENO, "cannot exec %s: %s\n", args[0], strerror(errno));
  _exit(127);
}

}  // namespace

std::string describe_wait_status(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    return "killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  return "status " + std::to_string(wait_status);
}

StageProcess::StageProcess(std::string name, std::vector<std::string> argv, std::string log_path,
                           bool restart)
    : name_(std::move(name)), argv_(std::move(argv)), log_path_(std::move(log_path)),
      restart_(restart) {}

bool StageProcess::start(std::string& error) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    error = name_ + ": fork failed: " + strerror(errno);
    return false;
  }
  if (pid == 0) exec_child(argv_, log_path_, parent);
  setpgid(pid, pid);  // also here, so signals sent right away find the group
  pid_ = pid;
  ++restarts_;
  started_ = std::chrono::steady_clock::now();
  return true;
}

std::string StageProcess::exited(int wait_status) {
  auto now = std::chrono::steady_clock::now();
  last_exit_code_ = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status)
                                           : 128 + WTERMSIG(wait_status);
  last_exit_ = describe_wait_status(wait_status);
  pid_ = -1;
  if (WIFEXITED(wait_status) && planned_exit_codes_.count(WEXITSTATUS(wait_status))) {
    quick_failures_ = 0;
    restart_at_ = now;
    return last_exit_;
  }
  failures_.push_back(now);
  while (failures_.size() > 16) failures_.pop_front();
  bool quick = now - started_ < kQuickFailure;
  quick_failures_ = quick ? quick_failures_ + 1 : 0;
  // Back off a little more after each quick failure, up to 5 s.
  auto delay = std::chrono::milliseconds(std::min(5000, 250 << std::min(quick_failures_, 5)));
  restart_at_ = now + (quick ? delay : std::chrono::milliseconds(200));
  return last_exit_;
}

int StageProcess::failures_within(std::chrono::steady_clock::duration window,
                                  std::chrono::steady_clock::time_point now) const {
  int n = 0;
  for (auto at : failures_) n += now - at <= window;
  return n;
}

double StageProcess::span_of_last_failures(int n) const {
  if (n <= 0 || failures_.size() < static_cast<std::size_t>(n)) return 0;
  return std::chrono::duration<double>(failures_.back() - failures_[failures_.size() - n]).count();
}

void StageProcess::signal(int signo) const {
  if (pid_ > 0) kill(pid_, signo);
}

void StageProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace nightshift::cli
