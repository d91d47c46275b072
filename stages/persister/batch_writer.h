// BatchWriter: what the persister has received but not yet committed, and
// the one transaction that commits it. Results are idempotent on the job's
// stable key, so a batch may be retried after any failure; nothing leaves the
// batch until COMMIT succeeded, and only then may job.persisted be announced.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "schema/job_messages.h"
#include "schema/results_store.h"

namespace nightshift::persister {

// An event to keep for replay (and, for alerts and telemetry, in its table).
struct EventRecord {
  std::string topic;
  std::string type;
  int64_t ts_ns = 0;
  std::string body;  // raw msgpack, as it came off the bus
  std::string json;  // for alert and telemetry tables; empty otherwise
};

using Pending = std::variant<JobResult, RunCheckpoint, EventRecord>;

struct CommitOutcome {
  std::vector<JobResult> results;  // every result in the batch, duplicates included
  uint64_t new_rows = 0;           // results that created their row
  uint64_t duplicates = 0;         // results whose row already existed
  uint64_t checkpoints = 0;
  uint64_t events = 0;
};

class BatchWriter {
 public:
  explicit BatchWriter(ResultsStore& store) : store_(store) {}

  void add(Pending item) { pending_.push_back(std::move(item)); }
  std::size_t size() const { return pending_.size(); }
  bool empty() const { return pending_.empty(); }

  // Writes everything pending in one IMMEDIATE transaction. On success the
  // batch is cleared and its results are returned for announcement; on
  // failure the transaction rolls back and the batch is kept for a retry.
  Result<CommitOutcome> commit(int64_t now_ns);

 private:
  Status write(const Pending& item, int64_t now_ns, CommitOutcome& outcome);

  ResultsStore& store_;
  std::vector<Pending> pending_;
};

}  // namespace nightshift::persister
