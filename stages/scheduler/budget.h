// The search's time budgets: scheduler.study_timeout_s (per study, from its
// first trial sent) and scheduler.deadline (a local time of day: the first
// such moment after the run started). Past either, a study's trials that
// have not gone out are skipped with the reason; running trials finish and
// final fits still run.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace nightshift::scheduler {

// The first moment at local time `hhmm` ("06:00") after `started_ns` (ns
// since the epoch), in ns; nullopt for "".
std::optional<int64_t> next_deadline_ns(int64_t started_ns, const std::string& hhmm);

class SearchBudget {
 public:
  SearchBudget(int64_t started_ns, const std::string& deadline, int study_timeout_s);
  // Why a trial of `study` may not go out at `now_ns` (empty: it may).
  // The first call for a study starts its clock.
  std::string trial_problem(const std::string& study, int64_t now_ns);

 private:
  std::optional<int64_t> deadline_ns_;
  std::string deadline_text_;
  int study_timeout_s_ = 0;
  std::map<std::string, int64_t> study_started_ns_;
};

}  // namespace nightshift::scheduler
