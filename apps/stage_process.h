// StageProcess: one child stage of the supervisor. Started with fork/exec in
// its own process group (a terminal's Ctrl-C reaches only the supervisor,
// which then stops the stages in order) and with SIGKILL as its parent-death
// signal: a supervisor killed with -9 leaves no stage behind (SIGTERM would
// let a scheduler spend grace_s draining a run nobody supervises any more;
// every stage is crash-safe, and `resume` re-sends what was not persisted).
// Output goes to a log file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nightshift::cli {

class StageProcess {
 public:
  StageProcess(std::string name, std::vector<std::string> argv, std::string log_path,
               bool restart);

  const std::string& name() const { return name_; }
  bool restart_on_exit() const { return restart_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  int restarts() const { return restarts_; }

  // Starts (or restarts) the process; false with errno-based message on failure.
  bool start(std::string& error);
  // The command line of the next start (a restarted scheduler resumes).
  void set_argv(std::vector<std::string> argv) { argv_ = std::move(argv); }
  // Exit codes that are the stage's own request to be renewed (a worker over
  // its memory threshold or past job_timeout_s): restarted at once and never
  // counted as failures.
  void set_planned_exit_codes(std::set<int> codes) { planned_exit_codes_ = std::move(codes); }
  // Records the exit of our pid (from waitpid); returns a description.
  std::string exited(int wait_status);
  void signal(int signo) const;
  // SIGTERM, wait up to `grace`, then SIGKILL; reaps it.
  void stop(std::chrono::milliseconds grace);

  // Restart bookkeeping: a stage that keeps dying right after start is given
  // up on after a few tries.
  bool crash_looping() const { return quick_failures_ >= 5; }
  std::chrono::steady_clock::time_point restart_at() const { return restart_at_; }
  std::optional<int> last_exit_code() const { return last_exit_code_; }
  // How the last exit happened ("killed by signal 9 (Killed)", "exit 1").
  const std::string& last_exit() const { return last_exit_; }
  // Failures (exits that were not planned) within `window` before `now`.
  int failures_within(std::chrono::steady_clock::duration window,
                      std::chrono::steady_clock::time_point now) const;
  // Seconds between the oldest of the last `n` failures and the newest.
  double span_of_last_failures(int n) const;

 private:
  std::string name_;
  std::vector<std::string> argv_;
  std::string log_path_;
  bool restart_ = true;
  pid_t pid_ = -1;
  int restarts_ = -1;
  int quick_failures_ = 0;
  std::chrono::steady_clock::time_point started_{};
  std::chrono::steady_clock::time_point restart_at_{};
  std::optional<int> last_exit_code_;
  std::string last_exit_;
  std::set<int> planned_exit_codes_;
  std::deque<std::chrono::steady_clock::time_point> failures_;  // the last few
};

// "exit 3", "killed by signal 9 (Killed)".
std::string describe_wait_status(int wait_status);

}  // namespace nightshift::cli
