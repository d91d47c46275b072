#include "stages/scheduler/scheduler.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <thread>

#include "broker/stage_watch.h"
#include "schema/dispatch_token.h"
#include "schema/event_messages.h"
#include "schema/names.h"
#include "schema/telemetry_messages.h"
#include "schema/topics.h"
#include "base/process.h"
#include "stages/scheduler/plan.h"
#include "stages/scheduler/budget.h"
#include "stages/scheduler/pruner.h"
#include "stages/scheduler/rerun_plan.h"
#include "stages/scheduler/tpe_sampler.h"

namespace nightshift::scheduler {
namespace {

constexpr auto kProgressInterval = std::chrono::seconds(1);
constexpr auto kDirtyCheckpointInterval = std::chrono::seconds(1);
constexpr auto kReconcileInterval = std::chrono::seconds(5);
constexpr auto kSendTimeout = std::chrono::milliseconds(200);
// How long a spent credit waits for its worker to show the job (worker_slots.h).
constexpr auto kCreditHold = std::chrono::milliseconds(1000);

// Names become keys, topics and file names: a plan with a name the workers
// and the persister would refuse is an error before anything is sent.
Status check_names(const RunCheckpoint& plan) {
  if (auto why = name_problem("run id", plan.run); !why.empty()) return make_error(why);
  for (const JobState& job : plan.jobs) {
    if (auto why = name_problem("symbol", job.job.symbol); !why.empty()) return make_error(why);
    if (auto why = name_problem("study", job.job.key.study); !why.empty()) return make_error(why);
  }
  return Status::success();
}

Result<RunCheckpoint> initial_state(const config::Config& config,
                                    const SchedulerOptions& options) {
  const std::string& db = config.storage.results_db;
  if (auto why = name_problem("run id", options.run); !why.empty()) return make_error(why);
  if (!options.resume) {
    if (std::filesystem::exists(db)) {
      auto store = ResultsStore::open_read_only(db);
      if (!store) return store.take_error();
      auto existing = store->has_schema() ? store->run(options.run)
                                          : Result<std::optional<RunRow>>(std::nullopt);
      if (!existing) return existing.take_error();
      if (*existing) return make_error("run " + options.run + " already exists in " + db +
                                       "; continue it with `nightshift resume " + options.run + "`");
    }
    RunCheckpoint fresh;
    fresh.run = options.run;
    fresh.status = RunStatus::running;
    fresh.config_path = config.source_file;
    fresh.started_ns = now_ns();
    fresh.jobs = plan_run(config, options.run);
    if (!options.rerun_of.empty()) {
      auto store = ResultsStore::open_read_only(db);
      if (!store) return store.take_error();
      if (Status s = pin_to_stored_run(fresh.jobs, *store, options.rerun_of); !s) return s.take_error();
    }
    if (auto st = check_names(fresh); !st) return st.take_error();
    return fresh;
  }
  auto store = ResultsStore::open_read_only(db);
  if (!store) return store.take_error();
  auto stored = store->checkpoint(options.run);
  if (!stored) return stored.take_error();
  if (!*stored) return make_error("run " + options.run + " not found in " + db);
  if (auto st = check_names(**stored); !st) return st.take_error();
  return std::move(**stored);
}

}  // namespace

Scheduler::Scheduler(const config::Config& config, std::string run, RunCheckpoint initial,
                     bus::JobSender jobs, bus::CheckpointSender checkpoints, bus::Subscriber events,
                     bus::Publisher publisher)
    : config_(config),
      run_(std::move(run)),
      started_ns_(initial.started_ns),
      dispatch_key_(std::move(*initial.dispatch_key)),
      signer_(dispatch_key_),
      budget_(initial.started_ns, config.scheduler.deadline, config.scheduler.study_timeout_s),
      board_(std::move(initial.jobs),
             BoardLimits{static_cast<uint32_t>(config.scheduler.max_attempts),
                         static_cast<uint32_t>(config.scheduler.symbol_failure_limit)}),
      slots_(std::chrono::milliseconds(std::max(3 * config.bus.heartbeat_ivl_ms, 3000)),
             kCreditHold),
      jobs_(std::move(jobs)),
      checkpoints_(std::move(checkpoints)),
      events_(std::move(events)),
      publisher_(std::move(publisher)) {
  board_.requeue_running();
  done_at_start_ = board_.counts().done;
}

Result<std::unique_ptr<Scheduler>> Scheduler::start(zmq::context_t& context,
                                                    const config::Config& config,
                                                    const SchedulerOptions& options) {
  if (options.run.empty()) return make_error("scheduler: a run id is required (--run)");
  auto initial = initial_state(config, options);
  if (!initial) return initial.take_error();
  // A run stored before dispatch keys gets one now; its next checkpoint
  // records it.
  if (!initial->dispatch_key) {
    auto key = new_dispatch_key();
    if (!key) return key.take_error();
    initial->dispatch_key = std::move(*key);
  }
  auto self = bus::self_source("scheduler");
  auto jobs = bus::JobSender::connect(context, config.bus, self);
  if (!jobs) return jobs.take_error();
  auto checkpoints = bus::CheckpointSender::connect(context, config.bus, self);
  if (!checkpoints) return checkpoints.take_error();
  auto events = bus::Subscriber::connect(
      context, config.bus,
      {"worker.", topics::job("persisted", options.run), "stage." + topics::segment(host_name())});
  if (!events) return events.take_error();
  auto publisher = bus::Publisher::connect(context, config.bus, self);
  if (!publisher) return publisher.take_error();
  std::vector<DatasetRequest> datasets;
  for (const JobState& state : initial->jobs) {
    if (state.state != WorkState::done && state.state != WorkState::skipped) {
      datasets.push_back(DatasetFingerprints::request_of(state.job));
    }
  }
  std::unique_ptr<Scheduler> scheduler(
      new Scheduler(config, options.run, std::move(*initial), std::move(*jobs),
                    std::move(*checkpoints), std::move(*events), std::move(*publisher)));
  if (config.cache.enabled) {
    auto hits = bus::ResultSender::connect(context, config.bus, self);
    if (!hits) return hits.take_error();
    scheduler->hits_.emplace(std::move(*hits));
    scheduler->cache_ = std::make_unique<ResultCacheLookup>(context, config, std::move(datasets));
  }
  return scheduler;
}

ResultsStore* Scheduler::store() {
  if (store_) return &*store_;
  auto opened = ResultsStore::open_read_only(config_.storage.results_db);
  if (!opened) return nullptr;  // the persister has not created it yet
  store_.emplace(std::move(*opened));
  return &*store_;
}

void Scheduler::on_event(const bus::Envelope& envelope) {
  const std::string& type = envelope.frame.header.type;
  if (type == Heartbeat::kType) {
    auto heartbeat = decode_payload<Heartbeat>(envelope.frame);
    if (heartbeat) slots_.heard(*heartbeat, Clock::now());
    return;
  }
  if (auto problem = bus::persister_problem(envelope)) {
    persister_problem_ = std::move(*problem);
    return;
  }
  if (type != JobsPersisted::kType || envelope.frame.header.src.stage != "persister") return;
  auto persisted = decode_payload<JobsPersisted>(envelope.frame);
  if (!persisted || persisted->run != run_) return;
  for (const PersistedResult& event : persisted->jobs) {
    if (event.key.run != run_) continue;
    // A hit the persister could not store (the entry expired or went
    // meanwhile): that key is not offered again; the retry goes to a worker.
    if (cache_) cache_->heard(event);
    look_up(event);
  }
}

// job.persisted is a prompt to look, not proof: anything can publish one
// with src.stage "persister". The job changes only when the database holds
// the row the event names (a real one whose row is not visible yet is found
// by the next reconcile_with_database()).
void Scheduler::look_up(const PersistedResult& event) {
  ResultsStore* db = store();
  if (db == nullptr) return;
  auto attempt = db->stored_attempt(event);
  if (!attempt) {
    spdlog::warn("checking job.persisted of {}: {}", job_key_text(event.key), attempt.error());
    return;
  }
  if (!*attempt) {
    unbacked_log_.warn("job.persisted for " + job_key_text(event.key) + " attempt " +
                       std::to_string(event.attempt) + " (" + std::string(wire_text(event.status)) +
                       ") has no row in the database; ignored");
    return;
  }
  bool changed = event.status != ResultStatus::failed  // ok or pruned: the job is done
                     ? board_.persisted(event.key, **attempt)
                     : board_.failed(event.key, event.attempt, event.reason);
  dirty_ = dirty_ || changed;
}

void Scheduler::hear(std::chrono::milliseconds wait) {
  auto envelope = events_.receive(wait);
  while (envelope) {
    on_event(*envelope);
    envelope = events_.receive(std::chrono::milliseconds(0));
  }
}

// The persister stores only results of planned jobs whose token derives
// from the run's key, so nothing goes out before the database holds the plan
// and the key.
bool Scheduler::plan_recorded() {
  if (plan_recorded_) return true;
  ResultsStore* db = store();
  if (db == nullptr) return false;
  auto row = db->run(run_);
  auto key = db->dispatch_key(run_);
  const auto total = static_cast<int64_t>(board_.counts().total);
  plan_recorded_ = row && *row && (*row)->total_jobs == total && key && *key &&
                   same_secret(**key, dispatch_key_);
  if (!plan_recorded_ && Clock::now() - began_ > std::chrono::seconds(10)) {
    unbacked_log_.warn("waiting for the persister to record the plan of run " + run_ +
                       " before dispatching");
  }
  return plan_recorded_;
}

void Scheduler::dispatch() {
  if (!plan_recorded()) return;
  auto now = Clock::now();
  while (JobState* next = board_.next_ready()) {
    if (next->job.kind == JobKind::trial) {
      std::string over = budget_.trial_problem(next->job.key.study, now_ns());
      if (!over.empty()) {
        board_.skip_pending(*next, over);
        dirty_ = true;
        continue;
      }
    }
    // The result cache: a job whose key has a stored result is answered
    // from it, with no worker slot. A dataset's jobs wait for its fingerprint.
    std::string fingerprint;
    if (cache_) {
      auto known = cache_->fingerprint(next->job);
      if (!known) return;
      fingerprint = std::move(*known);
    }
    const bool needs_params = next->job.kind == JobKind::trial && next->job.params.empty();
    if (!fingerprint.empty() && !needs_params && answer_from_cache(*next, fingerprint)) continue;
    auto credit = slots_.take(now);  // no free slot announced: nothing to send
    if (!credit) return;
    if (needs_params) {
      suggest(*next);
      if (!fingerprint.empty() && answer_from_cache(*next, fingerprint)) {
        slots_.give_back(*credit);
        continue;
      }
    }
    Job job = JobBoard::next_attempt(*next);
    if (job.kind == JobKind::trial) job.prune = prune_thresholds(job);
    job.dispatch_token = signer_.token(job.key, job.attempt);
    if (!jobs_.send(job, kSendTimeout)) {  // broker not reachable: try later
      slots_.give_back(*credit);
      return;
    }
    board_.start(*next, job, Clock::now() + std::chrono::seconds(config_.scheduler.lease_s));
    ++jobs_sent_;
    if (cache_) cache_->sent_to_worker(!fingerprint.empty());
    dirty_ = true;
  }
}

// A hit goes out as the job's result on the results pipeline, carrying the
// attempt's dispatch token like any result; the persister then copies the
// entry's rows (it finds the entry under the key it computes itself, never
// by this message's word).
bool Scheduler::answer_from_cache(JobState& state, const std::string& fingerprint) {
  auto found = cache_->find(state.job, fingerprint, store());
  if (!found) return false;
  Job job = JobBoard::next_attempt(state);
  job.dispatch_token = signer_.token(job.key, job.attempt);
  JobResult hit;
  hit.key = job.key;
  hit.attempt = job.attempt;
  hit.status = ResultStatus::ok;
  hit.worker = "cache";
  hit.params = job.params;
  hit.cache_hit = true;
  hit.data_fingerprint = fingerprint;
  hit.dispatch_token = job.dispatch_token;
  if (job.kind == JobKind::final_fit) hit.artifact_path = found->entry.artifact_path;
  if (!hits_->send(hit, kSendTimeout)) return false;  // pipeline full: a worker computes it
  board_.start(state, job, Clock::now() + std::chrono::seconds(config_.scheduler.lease_s));
  cache_->hit_sent(job.key, found->key);
  dirty_ = true;
  return true;
}

// A TPE trial's params are chosen when it goes out, from the study's
// finished trials in the database and its trials in flight on the board;
// once chosen they stay with the job (retries, checkpoints, resume).
void Scheduler::suggest(JobState& state) {
  const std::string& study = state.job.key.study;
  std::vector<FinishedTrial> finished;
  if (ResultsStore* db = store()) {
    auto rows = db->finished_trials(run_, study);
    if (!rows) spdlog::warn("finished trials of {}: {}", study, rows.error());
    if (rows) {
      for (auto& [params, auc] : *rows) finished.push_back(FinishedTrial{std::move(params), auc});
    }
  }
  std::vector<Params> in_flight;
  for (const JobState& other : board_.jobs()) {
    bool open = other.state == WorkState::running || other.state == WorkState::pending;
    if (&other != &state && open && other.job.kind == JobKind::trial &&
        other.job.key.study == study && !other.job.params.empty()) {
      in_flight.push_back(other.job.params);
    }
  }
  auto space = config_.search.find(state.job.model);
  if (space == config_.search.end()) return;
  auto rng = trial_rng(config_.scheduler.tpe.seed, study, state.job.key.trial);
  state.job.params = tpe_suggest(space->second, finished, in_flight, config_.scheduler.tpe, rng);
  dirty_ = true;
}

// The median pruner's thresholds for a trial about to be sent, from the
// study's completed trials as the database holds them now. Only on the
// copy that goes out: every attempt gets the thresholds of its moment.
std::optional<PruneThresholds> Scheduler::prune_thresholds(const Job& job) {
  const config::SchedulerConfig& s = config_.scheduler;
  if (s.pruner != "median") return std::nullopt;
  ResultsStore* db = store();
  if (db == nullptr) return std::nullopt;
  auto completed = db->completed_fold_aucs(run_, job.key.study);
  if (!completed) {
    spdlog::warn("completed trials of {}: {}", job.key.study, completed.error());
    return std::nullopt;
  }
  return median_thresholds(*completed, job.cv.n_splits, s.pruner_startup_trials, s.pruner_warmup_folds);
}

// job.persisted is an event and may be lost; the database is the truth.
void Scheduler::reconcile_with_database() {
  ResultsStore* db = store();
  if (db == nullptr) return;
  auto persisted = db->persisted_jobs(run_);
  if (!persisted) {
    spdlog::warn("reading persisted jobs: {}", persisted.error());
    return;
  }
  for (const auto& state : board_.jobs()) {
    auto stored = persisted->find(job_key_text(state.job.key));
    if (stored != persisted->end()) dirty_ = board_.persisted(state.job.key, stored->second) || dirty_;
  }
}

void Scheduler::expire_leases() {
  auto now = Clock::now();
  if (now >= next_reconcile_) {
    reconcile_with_database();
    next_reconcile_ = now + kReconcileInterval;
  }
  auto expired = board_.expire(now);
  if (expired.empty()) return;
  dirty_ = true;
  for (const auto& key : expired) spdlog::warn("lease expired: {}", job_key_text(key));
}

void Scheduler::release_finals() {
  auto ready = board_.studies_ready_for_final();
  if (ready.empty()) return;
  ResultsStore* db = store();
  if (db == nullptr) return;
  for (const auto& study : ready) {
    auto params = db->best_trial_params(run_, study);
    if (!params) {
      spdlog::warn("best params of {}: {}", study, params.error());
      continue;
    }
    board_.release_final(study, *params);
    dirty_ = true;
  }
}

void Scheduler::publish_progress(bool force) {
  auto now = Clock::now();
  if (!force && now < next_progress_) return;
  next_progress_ = now + kProgressInterval;
  BoardCounts c = board_.counts();
  RunProgress progress;
  progress.run = run_;
  progress.total = c.total;
  progress.done = c.done;
  progress.running = c.running;
  progress.failed = c.failed_attempts;
  progress.skipped = c.skipped;
  double elapsed_s = std::chrono::duration<double>(now - began_).count();
  uint64_t finished_here = c.done - std::min(c.done, done_at_start_);
  progress.jobs_per_s = elapsed_s > 0 ? static_cast<double>(finished_here) / elapsed_s : 0;
  uint64_t left = c.total - c.done - c.skipped;
  if (progress.jobs_per_s > 0) progress.eta_s = static_cast<double>(left) / progress.jobs_per_s;
  if (cache_) {
    progress.cache_hits = cache_->hits();
    progress.cache_misses = cache_->misses();
  }
  publisher_.publish(topics::run_progress(run_), progress);
  Event alive;
  alive.name = "alive";
  alive.attrs = {{"stage", "scheduler"}, {"run", run_}};
  publisher_.publish("stage." + topics::segment(host_name()) + ".scheduler", alive);
  alert_on_failures(false);
}

// More failed attempts than telemetry.alerts.failed_jobs: one alert.warning
// while the run goes on, resolved when it ends.
void Scheduler::alert_on_failures(bool run_over) {
  const uint64_t failed = board_.counts().failed_attempts;
  const int threshold = config_.telemetry.alerts.failed_jobs;
  const bool firing = !run_over && failed > static_cast<uint64_t>(threshold);
  if (firing == failure_alert_firing_) return;
  failure_alert_firing_ = firing;
  Alert alert;
  alert.level = "warning";
  alert.state = firing ? "firing" : "resolved";
  alert.host = host_name();
  alert.metric = "run.failed_jobs";
  alert.value = static_cast<double>(failed);
  alert.threshold = threshold;
  alert.message = "run " + run_ + ": " + std::to_string(failed) + " failed job attempts" +
                  (firing ? " (more than " + std::to_string(threshold) + ")" : "; the run ended");
  if (firing) spdlog::warn("{}", alert.message);
  publisher_.publish(topics::alert(alert.level, alert.host, alert.metric), alert);
}

bool Scheduler::send_checkpoint(RunStatus status) {
  RunCheckpoint checkpoint;
  checkpoint.run = run_;
  checkpoint.status = status;
  checkpoint.config_path = config_.source_file;
  checkpoint.started_ns = started_ns_;
  checkpoint.jobs = board_.jobs();
  checkpoint.dispatch_key = dispatch_key_;
  bool sent = checkpoints_.send(checkpoint, kSendTimeout);
  if (sent) dirty_ = false;
  return sent;
}

void Scheduler::maybe_checkpoint() {
  auto now = Clock::now();
  bool periodic = now >= next_checkpoint_;
  bool changed = dirty_ && now >= next_dirty_checkpoint_;
  if (!periodic && !changed) return;
  if (!send_checkpoint(RunStatus::running)) return;
  next_checkpoint_ = now + std::chrono::seconds(config_.scheduler.checkpoint_interval_s);
  next_dirty_checkpoint_ = now + kDirtyCheckpointInterval;
}

// The run's last word must be durable before we exit, so wait until the
// persister has committed it (resending, since the pipeline may drop it).
bool Scheduler::confirm_checkpoint(RunStatus status, std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    send_checkpoint(status);
    auto wait_until = Clock::now() + std::chrono::seconds(2);
    while (Clock::now() < wait_until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ResultsStore* db = store();
      if (db == nullptr) continue;
      auto row = db->run(run_);
      if (row && *row && (*row)->status == status &&
          (*row)->done_jobs == static_cast<int64_t>(board_.counts().done)) {
        return true;
      }
    }
  }
  return false;
}

void Scheduler::drain_running(std::chrono::seconds grace) {
  auto deadline = Clock::now() + grace;
  spdlog::info("stopping: sending nothing new; waiting up to {} s for {} running jobs",
               grace.count(), board_.counts().running);
  while (board_.counts().running > 0 && Clock::now() < deadline) {
    hear(std::chrono::milliseconds(100));
    if (Clock::now() >= next_reconcile_) {
      reconcile_with_database();
      next_reconcile_ = Clock::now() + std::chrono::seconds(1);
    }
    publish_progress(false);
  }
}

RunOutcome Scheduler::run(const std::function<bool()>& stop) {
  BoardCounts c = board_.counts();
  spdlog::info("run {}: {} jobs ({} done, {} skipped already)", run_, c.total, c.done, c.skipped);
  while (!stop() && !board_.finished()) {
    hear(std::chrono::milliseconds(50));
    expire_leases();
    release_finals();
    dispatch();
    publish_progress(false);
    maybe_checkpoint();
  }
  const bool completed = board_.finished();
  if (!completed) drain_running(std::chrono::seconds(config_.scheduler.grace_s));
  board_.requeue_running();  // what did not finish is unpersisted work for resume
  const RunStatus status = completed ? RunStatus::completed : RunStatus::interrupted;
  publish_progress(true);
  alert_on_failures(true);
  if (!confirm_checkpoint(status, std::chrono::seconds(15))) {
    if (!persister_problem_.empty()) {
      // Nothing is lost: what the persister committed stays, and resume
      // re-runs every job whose result it could not commit.
      spdlog::error("run {}: the final checkpoint cannot be stored ({}); `resume` re-runs the "
                    "jobs whose results were not committed",
                    run_, persister_problem_);
      return RunOutcome::interrupted;
    }
    spdlog::error("run {}: the persister did not confirm the final checkpoint", run_);
    return RunOutcome::failed;
  }
  c = board_.counts();
  spdlog::info("run {} {}: {} done, {} skipped of {}", run_, wire_text(status), c.done, c.skipped, c.total);
  if (cache_) {
    const LruCounts& lru = cache_->memory();
    spdlog::info("jobs sent to workers: {}; result cache: {} hits, {} misses (in memory: {} hits, {} "
                 "misses, {} evictions, {} expired)",
                 jobs_sent_, cache_->hits(), cache_->misses(), lru.hits, lru.misses, lru.evictions,
                 lru.expired);
  } else {
    spdlog::info("jobs sent to workers: {}; result cache disabled", jobs_sent_);
  }
  return completed ? RunOutcome::completed : RunOutcome::interrupted;
}

}  // namespace nightshift::scheduler
