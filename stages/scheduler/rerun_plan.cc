#include "stages/scheduler/rerun_plan.h"

#include <nlohmann/json.hpp>

#include <map>

#include "stages/scheduler/plan.h"

namespace nightshift::scheduler {

Status pin_to_stored_run(std::vector<JobState>& plan, ResultsStore& store,
                         const std::string& stored_run) {
  auto stored = store.trial_outcomes(stored_run);
  if (!stored) return stored.take_error();
  std::map<std::pair<std::string, int64_t>, const TrialOutcome*> by_key;
  for (const TrialOutcome& t : *stored) by_key[{t.study, t.trial}] = &t;
  for (JobState& state : plan) {
    Job& job = state.job;
    auto found = by_key.find({job.key.study, job.key.trial});
    if (found == by_key.end()) {
      state.state = WorkState::skipped;
      state.reason = "no result in run " + stored_run + " (rerun runs the same jobs)";
      continue;
    }
    const TrialOutcome& t = *found->second;
    if (!t.data_first_ts || !t.data_last_ts) {
      return make_error(ErrorKind::invalid_input,
                        "run " + stored_run + " did not record the bars of " + job.key.study + "/" +
                            std::to_string(job.key.trial) + " (stored by an older nightshift)");
    }
    job.start_ts = *t.data_first_ts;
    job.end_ts = *t.data_last_ts + 1;
    if (job.kind == JobKind::trial && job.params.empty()) {
      auto params = nlohmann::json::parse(t.params, nullptr, false);
      if (!params.is_object()) {
        return make_error(ErrorKind::corrupt, "run " + stored_run + ": params of " + job.key.study +
                                                  "/" + std::to_string(job.key.trial) + " are not a JSON object");
      }
      for (const auto& [name, value] : params.items()) {
        if (value.is_number()) job.params[name] = value.get<double>();
      }
    }
  }
  return Status::success();
}

}  // namespace nightshift::scheduler
