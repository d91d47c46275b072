// JobBoard: every job of a run and its state, and the rules that move it.
//
//   blocked  -> pending   a final fit, once its study's trials are settled
//   pending  -> running   sent against a free worker slot, with a lease
//   running  -> done      once the database holds its result row
//   running  -> pending   on a failed result or an expired lease, attempt < max
//   running  -> skipped   the same at max_attempts, with the reason
//   pending/blocked -> skipped   when the job's symbol failed too often
//
// Pure bookkeeping: no clock reads and no I/O, so every rule is unit-tested.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "schema/job_messages.h"

namespace nightshift::scheduler {

using Clock = std::chrono::steady_clock;

struct BoardCounts {
  uint64_t total = 0, blocked = 0, pending = 0, running = 0, done = 0, skipped = 0;
  uint64_t failed_attempts = 0;  // failed results and expired leases so far
};

struct BoardLimits {
  uint32_t max_attempts = 3;
  uint32_t symbol_failure_limit = 5;
};

class JobBoard {
 public:
  JobBoard(std::vector<JobState> jobs, BoardLimits limits);

  // The pending job with the lowest priority value, or nullptr.
  JobState* next_ready();
  // The job as its next attempt goes out: attempt + 1. The one place an
  // attempt number is made; the board changes only once it was sent.
  static Job next_attempt(const JobState& job);
  // Marks `job` running as the attempt `sent` (from next_attempt), with a
  // lease until `deadline`.
  void start(JobState& job, const Job& sent, Clock::time_point deadline);
  // A job whose result row, made by `attempt` (0: unknown), is committed.
  // The job counts at least that attempt (a row may come from an attempt
  // sent before a restart, or before a checkpoint recorded it). False if
  // unknown, or already done and `attempt` no news.
  bool persisted(const JobKey& key, uint32_t attempt = 0);
  // A failed result for `attempt`; stale attempts are ignored. True if the
  // board changed.
  bool failed(const JobKey& key, uint32_t attempt, const std::string& reason);
  // Leases past `now`: retried or skipped. Returns the jobs that expired.
  std::vector<JobKey> expire(Clock::time_point now);
  // Studies whose trials are all settled and whose final is still blocked.
  std::vector<std::string> studies_ready_for_final() const;
  // Gives a blocked final its params and makes it pending (or skips it when
  // no trial of the study succeeded). No-op while trials are unsettled.
  void release_final(const std::string& study, std::optional<std::map<std::string, double>> params);
  // A pending trial that will not be sent (a search budget ran out).
  void skip_pending(JobState& job, const std::string& reason);
  // After a restart: running jobs lose their lease and go back to pending.
  void requeue_running();

  BoardCounts counts() const;
  bool finished() const;  // nothing blocked, pending or running
  const std::vector<JobState>& jobs() const { return jobs_; }

 private:
  JobState* find(const JobKey& key);
  void retry_or_skip(JobState& job, const std::string& reason);
  void count_symbol_failure(const std::string& symbol, const std::string& reason);

  std::vector<JobState> jobs_;
  std::map<std::string, std::size_t> index_;  // "study/trial" -> position
  std::map<std::string, Clock::time_point> leases_;
  std::map<std::string, uint32_t> symbol_failures_;
  std::map<std::string, std::string> skipped_symbols_;  // symbol -> why
  BoardLimits limits_;
  uint64_t failed_attempts_ = 0;
};

}  // namespace nightshift::scheduler
