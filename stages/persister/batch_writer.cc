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
    const bool hit = r.status == ResultStatus::ok && r.cache_hit;
    auto st = hit ? write_cache_hit(*received, now_ns, inserted)
                  : store_.put_result(received->result, received->json, now_ns, inserted);
    if (!st) return st;
    bool ok = received->result.status != ResultStatus::failed;  // ok and pruned: a trials row
    // A pruned trial's row depends on the other trials' thresholds, not only
    // on its key: only complete results become cache entries.
    if (received->result.status == ResultStatus::ok && inserted && !hit) st = remember(*received, now_ns);
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

std::string BatchWriter::cache_key(const ReceivedResult& received) {
  const JobResult& r = received.result;
  const Job* spec = guard_ != nullptr ? guard_->study_spec(r.key) : nullptr;
  if (spec == nullptr) return "";
  const JobKind kind = r.key.trial < 0 ? JobKind::final_fit : JobKind::trial;
  return result_cache_key(cache_identity(*spec, kind, received.json.params, r.data_fingerprint,
                                         cache_.gates, cache_.code_version));
}

// A hit the scheduler sent: the rows come from the entry, never from the
// message. Anything amiss turns it into a failed attempt with the reason,
// which the scheduler retries (and then sends to a worker).
Status BatchWriter::write_cache_hit(ReceivedResult& received, int64_t now_ns, bool& inserted) {
  std::string why;
  const std::string key = cache_.enabled ? cache_key(received) : "";
  if (!cache_.enabled) {
    why = "the result cache is disabled";
  } else if (key.empty()) {
    why = "its study has no recorded spec";
  } else {
    auto entry = store_.cache_entry(key);
    if (!entry) return entry.take_error();
    if (!*entry) {
      why = "no result cache entry under its key";
    } else if ((*entry)->expires_ns <= now_ns) {
      why = "its result cache entry expired";
    } else {
      auto copied = store_.copy_cached_result(received.result, **entry, now_ns, inserted);
      if (!copied) return copied.take_error();
      if (*copied) return Status::success();
      why = "the rows its result cache entry stands for are gone";
    }
  }
  received.result.status = ResultStatus::failed;
  received.result.reason = "cache hit not stored: " + why;
  return store_.put_result(received.result, received.json, now_ns, inserted);
}

// A result a worker computed, stored for the first time: an entry under the
// key of what it was computed from (the data the worker actually used).
Status BatchWriter::remember(const ReceivedResult& received, int64_t now_ns) {
  const JobResult& r = received.result;
  if (!cache_.enabled || r.data_fingerprint.empty()) return Status::success();
  const Job* spec = guard_ != nullptr ? guard_->study_spec(r.key) : nullptr;
  if (spec == nullptr || !cacheable(*spec)) return Status::success();
  CacheEntry entry;
  entry.key = cache_key(received);
  entry.kind = r.key.trial < 0 ? JobKind::final_fit : JobKind::trial;
  entry.symbol = spec->symbol;
  entry.timeframe = spec->timeframe;
  entry.model = spec->model;
  entry.data_fingerprint = r.data_fingerprint;
  entry.source_run = r.key.run;
  entry.source_study = r.key.study;
  entry.source_trial = r.key.trial;
  if (r.key.trial < 0) entry.artifact_path = r.artifact_path;
  entry.created_ns = now_ns;
  entry.expires_ns = now_ns + cache_.ttl_ns;
  entry.last_used_ns = now_ns;
  return store_.put_cache_entry(entry);
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
