#include "stages/scheduler/job_board.h"

#include <algorithm>

#include "stages/scheduler/plan.h"

namespace nightshift::scheduler {
namespace {

std::string local_key(const JobKey& key) { return key.study + "/" + std::to_string(key.trial); }

}  // namespace

JobBoard::JobBoard(std::vector<JobState> jobs, BoardLimits limits)
    : jobs_(std::move(jobs)), limits_(limits) {
  for (std::size_t i = 0; i < jobs_.size(); ++i) index_[local_key(jobs_[i].job.key)] = i;
}

JobState* JobBoard::find(const JobKey& key) {
  auto it = index_.find(local_key(key));
  return it == index_.end() ? nullptr : &jobs_[it->second];
}

JobState* JobBoard::next_ready() {
  JobState* best = nullptr;
  for (auto& job : jobs_) {
    if (job.state != WorkState::pending) continue;
    if (best == nullptr || job.job.priority < best->job.priority) best = &job;
  }
  return best;
}

Job JobBoard::next_attempt(const JobState& job) {
  Job sent = job.job;
  sent.attempt = job.job.attempt + 1;
  return sent;
}

void JobBoard::start(JobState& job, const Job& sent, Clock::time_point deadline) {
  job.state = WorkState::running;
  job.job.attempt = sent.attempt;
  leases_[local_key(job.job.key)] = deadline;
}

bool JobBoard::persisted(const JobKey& key, uint32_t attempt) {
  JobState* job = find(key);
  if (job == nullptr) return false;
  bool counted = attempt > job->job.attempt;
  if (counted) job->job.attempt = attempt;
  if (job->state == WorkState::done) return counted;
  // A result that arrives after its job was skipped still counts: the row
  // exists, so the job is done.
  job->state = WorkState::done;
  job->reason.clear();
  leases_.erase(local_key(key));
  return true;
}

bool JobBoard::failed(const JobKey& key, uint32_t attempt, const std::string& reason) {
  JobState* job = find(key);
  if (job == nullptr || job->state != WorkState::running || job->job.attempt != attempt) return false;
  leases_.erase(local_key(key));
  retry_or_skip(*job, reason);
  count_symbol_failure(job->job.symbol, reason);
  return true;
}

void JobBoard::retry_or_skip(JobState& job, const std::string& reason) {
  ++failed_attempts_;
  auto symbol_skip = skipped_symbols_.find(job.job.symbol);
  if (symbol_skip != skipped_symbols_.end()) {
    job.state = WorkState::skipped;
    job.reason = symbol_skip->second;
  } else if (job.job.attempt >= limits_.max_attempts) {
    job.state = WorkState::skipped;
    job.reason = "failed " + std::to_string(job.job.attempt) + " times; last: " + reason;
  } else {
    job.state = WorkState::pending;
    job.reason = reason;
  }
}

void JobBoard::count_symbol_failure(const std::string& symbol, const std::string& reason) {
  uint32_t failures = ++symbol_failures_[symbol];
  if (failures != limits_.symbol_failure_limit) return;
  std::string why = "symbol " + symbol + " skipped for this run after " +
                    std::to_string(failures) + " failed attempts; last: " + reason;
  skipped_symbols_[symbol] = why;
  for (auto& job : jobs_) {
    if (job.job.symbol != symbol) continue;
    if (job.state == WorkState::pending || job.state == WorkState::blocked) {
      job.state = WorkState::skipped;
      job.reason = why;
    }
  }
}

std::vector<JobKey> JobBoard::expire(Clock::time_point now) {
  std::vector<JobKey> expired;
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    JobState& job = jobs_[index_.at(it->first)];
    it = leases_.erase(it);
    expired.push_back(job.job.key);
    retry_or_skip(job, "lease expired (no result from attempt " +
                           std::to_string(job.job.attempt) + ")");
  }
  return expired;
}

std::vector<std::string> JobBoard::studies_ready_for_final() const {
  std::map<std::string, bool> settled;  // study -> all trials done/skipped
  for (const auto& job : jobs_) {
    if (job.job.key.trial == kFinalTrial) continue;
    bool done = job.state == WorkState::done || job.state == WorkState::skipped;
    auto [it, inserted] = settled.try_emplace(job.job.key.study, done);
    if (!inserted) it->second = it->second && done;
  }
  std::vector<std::string> ready;
  for (const auto& job : jobs_) {
    if (job.job.key.trial != kFinalTrial || job.state != WorkState::blocked) continue;
    auto it = settled.find(job.job.key.study);
    if (it == settled.end() || it->second) ready.push_back(job.job.key.study);
  }
  return ready;
}

void JobBoard::release_final(const std::string& study,
                             std::optional<std::map<std::string, double>> params) {
  JobState* job = find(JobKey{"", study, kFinalTrial});
  if (job == nullptr || job->state != WorkState::blocked) return;
  for (const auto& other : jobs_) {
    bool settled = other.state == WorkState::done || other.state == WorkState::skipped;
    if (other.job.key.study == study && other.job.key.trial != kFinalTrial && !settled) return;
  }
  if (!params) {
    job->state = WorkState::skipped;
    job->reason = "no trial of the study succeeded";
    return;
  }
  job->job.params = std::move(*params);
  job->state = WorkState::pending;
}

void JobBoard::requeue_running() {
  for (auto& job : jobs_) {
    if (job.state == WorkState::running) job.state = WorkState::pending;
  }
  leases_.clear();
}

BoardCounts JobBoard::counts() const {
  BoardCounts c;
  c.total = jobs_.size();
  for (const auto& job : jobs_) {
    c.blocked += job.state == WorkState::blocked;
    c.pending += job.state == WorkState::pending;
    c.running += job.state == WorkState::running;
    c.done += job.state == WorkState::done;
    c.skipped += job.state == WorkState::skipped;
  }
  c.failed_attempts = failed_attempts_;
  return c;
}

bool JobBoard::finished() const {
  auto c = counts();
  return c.blocked == 0 && c.pending == 0 && c.running == 0;
}

void JobBoard::skip_pending(JobState& job, const std::string& reason) {
  if (job.state != WorkState::pending) return;
  job.state = WorkState::skipped;
  job.reason = reason;
}

}  // namespace nightshift::scheduler
