#include "stages/persister/batch_writer.h"

namespace nightshift::persister {

ReceivedResult::ReceivedResult(JobResult message)
    : result(std::move(message)), json(ResultJson::of(result)) {
  result.params = {};
  result.metrics = {};
  result.folds = {};
}

void BatchWriter::add(Batch batch) {
  if (pending_.empty()) {
    pending_ = std::move(batch);
    return;
  }
  for (auto& item : batch.items()) pending_.add(std::move(item));
}

Status BatchWriter::write(Pending& item, int64_t now_ns, CommitOutcome& outcome) {
  if (auto* received = std::get_if<ReceivedResult>(&item)) {
    const JobResult& r = received->result;
    std::string why = guard_ != nullptr ? guard_->admit(r) : "";
    received->refused = !why.empty();
    if (received->refused) {
      outcome.refused.push_back(Refusal{"result " + job_key_text(r.key) + " attempt " +
                                            std::to_string(r.attempt),
                                        r.worker, std::move(why)});
      return Status::success();
    }
    bool inserted = false;
    auto st = store_.put_result(received->result, received->json, now_ns, inserted);
    if (!st) return st;
    bool ok = received->result.status != ResultStatus::failed;  // ok and pruned: a trials row
    ++outcome.results;
    outcome.new_rows += ok && inserted;
    outcome.duplicates += ok && !inserted;
    return st;
  }
  if (const auto* checkpoint = std::get_if<RunCheckpoint>(&item)) {
    if (guard_ != nullptr) {
      if (auto why = guard_->admit(*checkpoint); !why.empty()) {
        outcome.refused.push_back(Refusal{"checkpoint of run " + checkpoint->run, "the sender (unverified)",
                                          std::move(why)});
        return Status::success();
      }
    }
    ++outcome.checkpoints;
    auto st = store_.put_checkpoint(*checkpoint, now_ns);
    if (st && guard_ != nullptr) guard_->learn(*checkpoint);
    // Every final fit of the run is in: promotions are decided over all of
    // them (again, after a resume: over the whole run).
    if (st && checkpoint->status == RunStatus::completed) {
      st = store_.decide_promotions(checkpoint->run, fdr_q_);
    }
    return st;
  }
  const auto& event = std::get<EventRecord>(item);
  ++outcome.events;
  if (auto st = store_.put_event(event.topic, event.type, event.ts_ns, event.body); !st) return st;
  if (event.topic.rfind("alert.", 0) == 0) return store_.put_alert(event.topic, event.ts_ns, event.json);
  if (event.topic.rfind("telemetry.", 0) == 0) {
    return store_.put_telemetry(event.topic, event.ts_ns, event.json);
  }
  return Status::success();
}

Result<CommitOutcome> BatchWriter::commit(int64_t now_ns) {
  CommitOutcome outcome;
  if (pending_.empty()) return outcome;
  auto tx = sql::Transaction::begin(store_.db());
  if (!tx) return tx.take_error();
  for (auto& item : pending_.items()) {
    // Any failure drops the transaction (rollback in its destructor) and
    // keeps the batch: committed rows are untouched, pending ones retried.
    // What the guard learned from it is forgotten with it.
    if (auto st = write(item, now_ns, outcome); !st) {
      if (guard_ != nullptr) guard_->forget();
      return st.take_error();
    }
  }
  if (auto st = tx->commit(); !st) {
    if (guard_ != nullptr) guard_->forget();
    return st.take_error();
  }
  outcome.committed = std::move(pending_);  // the whole batch, no copy per result
  pending_ = Batch();
  return outcome;
}

}  // namespace nightshift::persister
