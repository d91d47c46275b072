#include "apps/supervisor.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "apps/run_report.h"
#include "apps/stage_process.h"
#include "broker/bus.h"
#include "broker/control_client.h"
#include "broker/stage_watch.h"
#include "schema/topics.h"
#include "base/file_lock.h"
#include "stages/persister/backups.h"
#include "base/process.h"
#include "base/run_instance.h"
#include "stages/gateway/gateway_stage.h"
#include "stages/trainer/job_watchdog.h"
#include "stages/trainer/worker.h"

namespace nightshift::cli {

int default_workers() {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return static_cast<int>(std::max(1L, cores - 1));
}

namespace {

constexpr auto kTick = std::chrono::milliseconds(100);
// A scheduler that dies this often within this window is not restarted again:
// something kills it faster than it can make progress.
constexpr int kSchedulerFailures = 3;
constexpr auto kSchedulerFailureWindow = std::chrono::seconds(60);

std::string self_exe() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("/proc/self/exe") : path.string();
}

// The last message of a stage's log, without spdlog's "TIME level [stage:pid] "
// prefix: the stage's own words for why it stopped.
std::string last_log_message(const std::string& path, const std::string& fallback) {
  std::ifstream in(path);
  std::string line, last = fallback;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  auto prefix_end = last.find("] ");
  if (!last.empty() && std::isdigit(static_cast<unsigned char>(last[0])) &&
      prefix_end != std::string::npos) {
    last = last.substr(prefix_end + 2);
  }
  return last;
}

class NightRun {
 public:
  NightRun(const config::Config& config, const SupervisorOptions& options)
      : config_(config), options_(options) {}
  int run();

 private:
  std::vector<std::string> stage_argv(const std::string& stage,
                                      const std::vector<std::string>& extra) const;
  void add(const std::string& name, std::vector<std::string> argv, bool restart);
  void plan_stages(int workers);
  bool dashboard_wanted() const {
    return config_.dashboard.enabled || options_.dashboard || options_.dashboard_port != 0;
  }
  Status lock_run();
  void back_up();
  Status check_results_database() const;
  bool start(StageProcess& stage);
  Status wait_for_broker(zmq::context_t& context, StageProcess& broker);
  void reap();
  void restart_due();
  bool restart_scheduler();
  std::vector<std::string> scheduler_argv(bool resume) const;
  void show_progress(bool final_line);
  void hear(const bus::RunWatch::Update& update);
  void notice(const std::string& line);
  void stop_stages();
  int outcome();

  config::Config config_;
  SupervisorOptions options_;
  FileLock run_lock_;  // inherited by every stage: held until the last one exits
  std::string log_dir_;
  std::vector<std::unique_ptr<StageProcess>> stages_;  // in start order
  StageProcess* scheduler_ = nullptr;
  std::optional<int> scheduler_exit_;
  bool stopping_ = false;
  bool aborted_ = false;
  bool forwarded_stop_ = false;     // the scheduler was told to stop
  std::string failure_;              // why the run failed, one line, when the supervisor knows
  std::optional<RunProgress> progress_;
  std::string persister_problem_;  // as its alive events say; "" while it commits
  std::chrono::steady_clock::time_point next_problem_line_{};
  std::chrono::steady_clock::time_point next_plain_line_{};
};

std::vector<std::string> NightRun::stage_argv(const std::string& stage,
                                              const std::vector<std::string>& extra) const {
  std::vector<std::string> argv{self_exe()};
  if (!options_.config_path.empty()) argv.insert(argv.end(), {"--config", options_.config_path});
  if (!options_.log_level.empty()) argv.insert(argv.end(), {"--log-level", options_.log_level});
  argv.push_back(stage);
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

void NightRun::add(const std::string& name, std::vector<std::string> argv, bool restart) {
  stages_.push_back(std::make_unique<StageProcess>(name, std::move(argv),
                                                   log_dir_ + "/" + name + ".log", restart));
}

void NightRun::plan_stages(int workers) {
  add("broker", stage_argv("broker", {}), true);
  if (options_.telemetry && config_.telemetry.enabled) {
    add("telemetry", stage_argv("telemetry", {}), true);
  }
  bool test_workers = !options_.worker_program.empty();
  const bool rerun = !options_.rerun_of.empty();
  // A rerun computes on the stored run's exact bars: nothing may be fetched.
  add("fetcher", stage_argv("fetcher", rerun ? std::vector<std::string>{"--offline"}
                                             : std::vector<std::string>{}),
      true);  // test workers may ask it too (--fetch)
  std::vector<std::string> persister_args{"--run", options_.run};
  if (rerun) persister_args.insert(persister_args.end(), {"--rerun-of", options_.rerun_of});
  add("persister", stage_argv("persister", persister_args), true);
  if (dashboard_wanted()) {
    std::vector<std::string> port;
    if (options_.dashboard_port != 0) port = {"--port", std::to_string(options_.dashboard_port)};
    add("gateway", stage_argv("gateway", port), true);
  }
  for (int i = 1; i <= workers; ++i) {
    std::string id = std::to_string(i);
    std::vector<std::string> argv;
    if (test_workers) {
      argv = {options_.worker_program, "--config", options_.config_path, "--id", id};
      argv.insert(argv.end(), options_.worker_args.begin(), options_.worker_args.end());
    } else {
      argv = stage_argv("worker", {"--id", id, "--run", options_.run});
    }
    add("worker-" + id, std::move(argv), true);
    stages_.back()->set_planned_exit_codes(
        {trainer::kExitMemoryLimit, trainer::kExitRestart, trainer::kExitJobTimeout});
  }
  add("scheduler", scheduler_argv(options_.resume), true);
  scheduler_ = stages_.back().get();
}

// The scheduler is told who supervises it, and stops at once when that
// process is no longer its parent.
std::vector<std::string> NightRun::scheduler_argv(bool resume) const {
  std::vector<std::string> extra{"--run", options_.run, "--supervisor-pid",
                                 std::to_string(getpid())};
  if (resume) extra.push_back("--resume");
  if (!options_.rerun_of.empty()) extra.insert(extra.end(), {"--rerun-of", options_.rerun_of});
  return stage_argv("scheduler", extra);
}

// A scheduler that died mid-run is started again with --resume, which
// rebuilds its state from the database exactly as `nightshift resume` does
// (what was not persisted is sent again). A run whose first checkpoint never
// reached the database starts afresh.
bool NightRun::restart_scheduler() {
  bool stored = options_.resume;
  if (!stored) {
    auto store = ResultsStore::open_read_only(config_.storage.results_db);
    if (store && store->has_schema()) {
      auto row = store->run(options_.run);
      stored = row && *row;
    }
  }
  scheduler_->set_argv(scheduler_argv(stored));
  return start(*scheduler_);
}

bool NightRun::start(StageProcess& stage) {
  std::string error;
  if (!stage.start(error)) {
    spdlog::error("{}", error);
    return false;
  }
  if (stage.restarts() > 0) {
    spdlog::warn("restarted {} (pid {}, restart #{})", stage.name(), stage.pid(), stage.restarts());
  }
  return true;
}

// One run per results database: an exclusive lock on <db>.lock, taken before
// anything else. The stages inherit the descriptor, so a stage that outlives
// a killed supervisor (a scheduler still checkpointing) keeps the database
// locked against a prompt `resume` until it exits too. Then a fresh instance
// token for this run's stages, so none of them uses another run's broker.
Status NightRun::lock_run() {
  const std::string& db = config_.storage.results_db;
  run_lock_ = FileLock::try_acquire(db + ".lock");
  if (run_lock_.state() == FileLock::State::busy) {
    std::string pid = run_lock_.holder() > 0 ? std::to_string(run_lock_.holder()) : "unknown";
    return make_error(ErrorKind::busy, "run lock held: another nightshift run (pid " + pid +
                                           ") is using " + db);
  }
  if (!run_lock_.held()) {
    return make_error(ErrorKind::unavailable, "results database " + db + ": " + run_lock_.error());
  }
  setenv(kInstanceVariable, new_run_instance().c_str(), 1);
  return Status::success();
}

// Before anything starts, open the results database the way the persister
// will (create, migrate): a path that cannot be written, or a file that is not
// a database, is then one clear line instead of a crash-looping persister.
// Nothing else writes yet, so this does not break "one writer".
Status NightRun::check_results_database() const {
  const std::string& db = config_.storage.results_db;
  if (std::filesystem::is_directory(db)) {
    return make_error("results database " + db + " is a directory (storage.results_db names a file)");
  }
  auto store = ResultsStore::open_for_writing(config_.storage.results_db);
  if (!store) return store.take_error();
  auto existing = store->run(options_.run);
  if (!existing) return existing.take_error();
  if (options_.resume && !*existing) return make_error("run " + options_.run + " not found in " + db);
  if (!options_.resume && *existing) {
    return make_error("run " + options_.run + " already exists in " + db +
                      "; continue it with `nightshift resume " + options_.run + "`");
  }
  return Status::success();
}

// The broker must answer before any other stage starts, with this run's
// instance token: another run's broker on the same endpoints answers too,
// and ours then dies on its first bind. If it dies, its last log line is the
// cause to report.
Status NightRun::wait_for_broker(zmq::context_t& context, StageProcess& broker) {
  auto deadline = std::chrono::steady_clock::now() + kRunBrokerWait;
  const std::string log = log_dir_ + "/broker.log";
  std::string foreign;  // the last "another run's broker" answer
  while (true) {
    Status up = bus::probe_broker(context, config_.bus, std::chrono::milliseconds(500));
    if (up) break;
    if (up.error_kind() == ErrorKind::busy) {
      foreign = up.error();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    int status = 0;
    if (broker.pid() > 0 && waitpid(broker.pid(), &status, WNOHANG) == broker.pid()) {
      std::string how = broker.exited(status);
      return make_error("broker could not start: " + last_log_message(log, how) + " (see " + log +
                        ")");
    }
    if (std::chrono::steady_clock::now() >= deadline || stop_requested()) {
      if (!foreign.empty()) return make_error("broker could not start: " + foreign);
      return make_error("broker unreachable: nothing answered on " + config_.bus.control +
                        " within " + std::to_string(kRunBrokerWait.count()) + " s (see " + log +
                        ")");
    }
  }
  return Status::success();
}

void NightRun::reap() {
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (auto& stage : stages_) {
      if (stage->pid() != pid) continue;
      std::string how = stage->exited(status);
      if (stage.get() == scheduler_) {
        // Exit 0: the run completed, or was interrupted on our SIGTERM and
        // checkpointed. Anything else mid-run is a crash to recover from.
        if (stage->last_exit_code() == 0 || forwarded_stop_ || stopping_) {
          scheduler_exit_ = stage->last_exit_code();
          spdlog::info("scheduler finished ({})", how);
        } else {
          spdlog::warn("scheduler exited unexpectedly ({}); restarting it from the database; "
                       "see {}/scheduler.log", how, log_dir_);
        }
      } else if (!stopping_) {
        spdlog::warn("{} exited unexpectedly ({}); see {}/{}.log", stage->name(), how, log_dir_,
                     stage->name());
      }
    }
  }
}

void NightRun::restart_due() {
  auto now = std::chrono::steady_clock::now();
  for (auto& stage : stages_) {
    if (stage->running() || !stage->restart_on_exit() || stage->restarts() < 0) continue;
    if (stage.get() == scheduler_) {
      if (scheduler_exit_ || forwarded_stop_) continue;
      int failures = stage->failures_within(kSchedulerFailureWindow, now);
      if (failures >= kSchedulerFailures || stage->crash_looping()) {
        int n = std::max(failures, kSchedulerFailures);
        const std::string& how = stage->last_exit();
        bool exited = how.rfind("exit ", 0) == 0;
        failure_ = fmt::format("scheduler {} {} times within {:.0f} s; giving up on the run",
                               exited ? "exited with status " + how.substr(5) : how, n,
                               std::max(1.0, stage->span_of_last_failures(n)));
        if (exited) {
          failure_ += ": " + last_log_message(log_dir_ + "/scheduler.log", "no log line");
        }
        failure_ += " (see " + log_dir_ + "/scheduler.log)";
        scheduler_exit_ = stage->last_exit_code();
        aborted_ = true;
        continue;
      }
      if (now >= stage->restart_at()) restart_scheduler();
      continue;
    }
    if (stage->crash_looping()) {
      bool essential = stage->name() == "broker" || stage->name() == "persister";
      if (essential && !aborted_) {
        spdlog::error("{} keeps failing right after start; giving up on the run (see {}/{}.log)",
                      stage->name(), log_dir_, stage->name());
        aborted_ = true;
      }
      continue;
    }
    if (now >= stage->restart_at()) start(*stage);
  }
}

void NightRun::show_progress(bool final_line) {
  if (!progress_) return;
  std::string line = progress_line(*progress_);
  if (isatty(STDOUT_FILENO)) {
    std::cout << "\r" << line << "\033[K" << (final_line ? "\n" : "") << std::flush;
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (!final_line && now < next_plain_line_) return;
  next_plain_line_ = now + std::chrono::seconds(5);
  std::cout << line << "\n" << std::flush;
}

// A line of its own above the progress bar.
void NightRun::notice(const std::string& line) {
  if (isatty(STDOUT_FILENO)) {
    std::cout << "\r" << line << "\033[K\n" << std::flush;
    show_progress(false);
    return;
  }
  std::cout << line << "\n" << std::flush;
}

// Progress, and what the persister says of its commits: a persister that
// cannot commit (disk full) is said on the run's own output, repeated every
// 30 s while it lasts, and its recovery too.
void NightRun::hear(const bus::RunWatch::Update& update) {
  if (update.progress) {
    progress_ = *update.progress;
    show_progress(false);
  }
  if (!update.persister_problem) return;
  const std::string& now_problem = *update.persister_problem;
  auto now = std::chrono::steady_clock::now();
  if (now_problem.empty() && !persister_problem_.empty()) {
    notice("nightshift: persister commits again; the run goes on");
  } else if (!now_problem.empty() && (persister_problem_.empty() || now >= next_problem_line_)) {
    notice("nightshift: " + now_problem + "; the run continues once the results database can be "
           "written (" + config_.storage.results_db + ")");
    next_problem_line_ = now + std::chrono::seconds(30);
  }
  persister_problem_ = now_problem;
}

// Scheduler first (it checkpoints), then workers and the other stages, then
// the persister (it commits what it holds), the broker last.
void NightRun::stop_stages() {
  stopping_ = true;
  if (scheduler_->running()) {
    scheduler_->stop(std::chrono::seconds(config_.scheduler.grace_s + 30));
  }
  auto stop_if = [&](auto predicate, std::chrono::milliseconds grace) {
    for (auto it = stages_.rbegin(); it != stages_.rend(); ++it) {
      if (predicate((*it)->name())) (*it)->stop(grace);
    }
  };
  auto is = [](const char* name) { return [name](const std::string& n) { return n == name; }; };
  stop_if([](const std::string& n) { return n.rfind("worker-", 0) == 0; }, std::chrono::seconds(5));
  stop_if(is("fetcher"), std::chrono::seconds(5));
  stop_if(is("gateway"), std::chrono::seconds(5));
  stop_if(is("telemetry"), std::chrono::seconds(5));
  stop_if(is("persister"), std::chrono::seconds(15));
  stop_if(is("broker"), std::chrono::seconds(5));
}

int NightRun::outcome() {
  if (!failure_.empty()) {
    std::cerr << "\nnightshift: " << failure_ << "\n";
    std::cout << "continue it with: nightshift "
              << (options_.config_path.empty() ? "" : "--config " + options_.config_path + " ")
              << "resume " << options_.run << "\n";
    return kRunFailed;
  }
  if (scheduler_exit_.value_or(0) != 0) {
    std::string why = last_log_message(log_dir_ + "/scheduler.log",
                                       "scheduler failed; see " + log_dir_ + "/scheduler.log");
    if (why.rfind("nightshift", 0) != 0) why = "nightshift: " + why;
    std::cerr << "\n" << why << "\n";
    return kRunFailed;
  }
  auto store = ResultsStore::open_read_only(config_.storage.results_db);
  if (!store) {
    std::cerr << "nightshift: " << store.error() << "\n";
    return kRunFailed;
  }
  auto row = store->run(options_.run);
  if (!row || !*row) {
    std::cerr << "nightshift: run " << options_.run << " was not stored in "
              << config_.storage.results_db << "\n";
    return kRunFailed;
  }
  std::cout << "\n";
  if (auto st = print_summary(std::cout, *store, options_.run, config_); !st) {
    std::cerr << "nightshift: summary: " << st.error() << "\n";
  }
  std::cout << "logs: " << log_dir_ << "\n";
  const RunStatus status = (*row)->status;
  if (status == RunStatus::completed && !aborted_) return kRunCompleted;
  if (status == RunStatus::completed) return kRunFailed;
  std::cout << "run " << options_.run << " " << wire_text(status) << "; continue it with: nightshift "
            << (options_.config_path.empty() ? "" : "--config " + options_.config_path + " ")
            << "resume " << options_.run << "\n";
  return aborted_ ? kRunFailed : kRunInterrupted;
}

int NightRun::run() {
  if (auto locked = lock_run(); !locked) {
    std::cerr << "nightshift: " << locked.error() << "\n";
    return kRunFailed;
  }
  if (auto ready = check_results_database(); !ready) {
    std::cerr << "nightshift: " << ready.error() << "\n";
    return kRunFailed;
  }
  std::filesystem::path db(config_.storage.results_db);
  log_dir_ = (db.parent_path().empty() ? std::filesystem::path(".") : db.parent_path()) / "logs" /
             options_.run;
  std::error_code ec;
  std::filesystem::create_directories(log_dir_, ec);
  if (ec) {
    std::cerr << "nightshift: cannot create log folder " << log_dir_ << ": " << ec.message() << "\n";
    return kRunFailed;
  }
  int workers = options_.workers >= 0 ? options_.workers
                : config_.num_workers > 0 ? config_.num_workers
                                          : default_workers();
  plan_stages(workers);
  std::cout << "night run " << options_.run << (options_.resume ? " (resumed)" : "") << ": "
            << workers << " workers" << (workers == 0 ? " here (slots from remote workers' heartbeats)" : "")
            << "; logs in " << log_dir_ << "\n";
  if (dashboard_wanted()) {
    config::DashboardConfig dashboard = config_.dashboard;
    if (options_.dashboard_port != 0) dashboard.port = options_.dashboard_port;
    std::cout << "dashboard: " << gateway::gateway_url(dashboard) << "\n";
  }
  zmq::context_t context(1);
  auto progress = bus::RunWatch::connect(context, config_.bus, options_.run);
  if (!progress) {
    std::cerr << "nightshift: " << progress.error() << "\n";
    return kRunFailed;
  }
  for (auto& stage : stages_) {
    if (!start(*stage)) return kRunFailed;
    if (stage->name() == "broker") {
      if (auto up = wait_for_broker(context, *stage); !up) {
        std::cerr << "nightshift: " << up.error() << "\n";
        stop_stages();
        return kRunFailed;
      }
    }
  }
  while (!scheduler_exit_) {
    reap();
    if (!scheduler_exit_) restart_due();
    if ((stop_requested() || aborted_) && !forwarded_stop_ && !scheduler_exit_) {
      forwarded_stop_ = true;
      std::cout << "\nstopping: the scheduler lets running jobs finish (up to "
                << config_.scheduler.grace_s << " s) and checkpoints\n";
      scheduler_->signal(SIGTERM);
    }
    // Told to stop while it was down between restarts: nothing to wait for.
    if (forwarded_stop_ && !scheduler_->running() && !scheduler_exit_) {
      scheduler_exit_ = 0;  // the outcome comes from the database: interrupted, resumable
    }
    if (auto update = progress->receive(kTick)) hear(*update);
  }
  show_progress(true);
  stop_stages();
  back_up();
  return outcome();
}

// Every run ends with an online backup of the results database (the
// persister takes the periodic ones while it runs; docs/cache.md).
void NightRun::back_up() {
  if (!std::filesystem::exists(config_.storage.results_db)) return;
  auto taken = persister::take_backup(config_, options_.run);
  if (!taken) {
    std::cerr << "nightshift: backup at the end of the run failed: " << taken.error() << "\n";
    return;
  }
  std::cout << fmt::format("\nbackup: {} ({} bytes, {:.2f} s)", taken->path, taken->outcome.bytes,
                           taken->outcome.seconds)
            << std::flush;
}

}  // namespace

int supervise(const config::Config& config, const SupervisorOptions& options) {
  return NightRun(config, options).run();
}

}  // namespace nightshift::cli
