// Batch and BatchWriter: what the persister has received but not yet
// committed, and the one transaction that commits it. Results are idempotent
// on the job's stable key, so a batch may be retried after any failure;
// nothing leaves the writer until COMMIT succeeded, and only then may
// job.persisted be announced.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "schema/job_messages.h"
#include "schema/results_store.h"
#include "stages/persister/result_guard.h"

namespace nightshift::persister {

// An event to keep for replay (and, for alerts and telemetry, in its table).
struct EventRecord {
  std::string topic;
  std::string type;
  int64_t ts_ns = 0;
  std::string body;  // raw msgpack, as it came off the bus
  std::string json;  // for alert and telemetry tables; empty otherwise
};

// A result as the writer stores it: the message, with the maps its JSON
// columns were rendered from released at once (params, metrics, folds), so
// the next message reuses their memory while it is still in cache instead
// of a batch's worth of them waiting for the commit.
struct ReceivedResult {
  ReceivedResult(JobResult message);  // NOLINT: a JobResult is added as is
  JobResult result;
  ResultJson json;
  bool refused = false;  // by the ResultGuard in the last commit: not stored, not announced
};

using Pending = std::variant<ReceivedResult, RunCheckpoint, EventRecord>;

// When a batch is committed: once it holds `max_messages`, or once its oldest
// message has waited `max_delay`, whichever comes first.
struct CommitPolicy {
  std::size_t max_messages = 2000;
  std::chrono::milliseconds max_delay{20};
};

// Messages in arrival order, and when the first of them arrived.
class Batch {
 public:
  using Clock = std::chrono::steady_clock;

  // `received`: when the message came in; the first one starts the clock.
  void add(Pending item) { add(std::move(item), items_.empty() ? Clock::now() : oldest_); }
  void add(Pending item, Clock::time_point received) {
    if (items_.empty()) oldest_ = received;
    items_.push_back(std::move(item));
  }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

  // The latest time this batch may wait for more (meaningless when empty),
  // and whether it is due for commit under `policy` at `now`.
  Clock::time_point commit_by(const CommitPolicy& policy) const {
    return oldest_ + policy.max_delay;
  }
  bool due(const CommitPolicy& policy, Clock::time_point now) const {
    return !empty() && (size() >= policy.max_messages || now >= commit_by(policy));
  }

  std::vector<Pending>& items() { return items_; }
  const std::vector<Pending>& items() const { return items_; }
  // Empties the batch but keeps its memory for the next one.
  void clear() { items_.clear(); }

 private:
  std::vector<Pending> items_;
  Clock::time_point oldest_{};
};

// A message the ResultGuard kept out of the database, and why.
struct Refusal {
  std::string what;    // "result run/study/trial attempt N" or "checkpoint of run R"
  std::string source;  // the worker it names, or the sender's stage
  std::string reason;
};

struct CommitOutcome {
  Batch committed;           // everything committed, in order: the results to announce
  uint64_t results = 0;      // result messages in it, duplicates included
  uint64_t new_rows = 0;     // results that created their row
  uint64_t duplicates = 0;   // results whose row already existed
  uint64_t checkpoints = 0;
  uint64_t events = 0;
  std::vector<Refusal> refused;  // not stored
};

// How the writer keeps the result cache (docs/cache.md): a new result of a
// planned job is stored as an entry under the key the persister computes
// from the recorded plan, the result's params and its data fingerprint; a
// result the scheduler sends as a cache hit is stored by copying the rows
// of the entry under that same key, if it is there and not expired.
struct ResultCachePolicy {
  bool enabled = false;
  int64_t ttl_ns = 0;
  std::string gates;         // config::gates_identity(promote_if)
  std::string code_version;  // base/build_id.h
};

class BatchWriter {
 public:
  // With a guard, results and checkpoints it refuses are left out of the
  // transaction (the persister always has one; tests of storage alone may not).
  explicit BatchWriter(ResultsStore& store, ResultGuard* guard = nullptr)
      : store_(store), guard_(guard) {}

  // A checkpoint that says its run completed also decides the run's
  // promotions (ResultsStore::decide_promotions at promote_if.fdr_q), in the
  // same transaction. Until this is set, the default level (0.05) applies.
  void set_fdr_q(double fdr_q) { fdr_q_ = fdr_q; }
  void set_result_cache(ResultCachePolicy policy) { cache_ = std::move(policy); }

  void add(Pending item) { pending_.add(std::move(item)); }
  // Appends a whole batch (the persister's intake hands them over).
  void add(Batch batch);
  std::size_t size() const { return pending_.size(); }
  bool empty() const { return pending_.empty(); }
  const Batch& pending() const { return pending_; }

  // Writes everything pending in one IMMEDIATE transaction. On success the
  // batch moves into the outcome, for announcement; on failure the
  // transaction rolls back and the batch is kept for a retry.
  Result<CommitOutcome> commit(int64_t now_ns);

 private:
  Status write(Pending& item, int64_t now_ns, CommitOutcome& outcome);
  Status write_cache_hit(ReceivedResult& received, int64_t now_ns, bool& inserted);
  Status remember(const ReceivedResult& received, int64_t now_ns);
  // The cache key of an admitted result; "" when its study's spec is unknown.
  std::string cache_key(const ReceivedResult& received);

  ResultsStore& store_;
  double fdr_q_ = 0.05;
  ResultCachePolicy cache_;
  ResultGuard* guard_;
  Batch pending_;
};

}  // namespace nightshift::persister
