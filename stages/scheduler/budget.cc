#include "stages/scheduler/budget.h"

#include <ctime>

namespace nightshift::scheduler {

std::optional<int64_t> next_deadline_ns(int64_t started_ns, const std::string& hhmm) {
  if (hhmm.size() != 5) return std::nullopt;
  int hour = std::stoi(hhmm.substr(0, 2)), minute = std::stoi(hhmm.substr(3, 2));
  std::time_t start = static_cast<std::time_t>(started_ns / 1'000'000'000);
  std::tm local{};
  localtime_r(&start, &local);
  local.tm_hour = hour;
  local.tm_min = minute;
  local.tm_sec = 0;
  local.tm_isdst = -1;
  std::time_t at = std::mktime(&local);
  if (at <= start) {
    local.tm_mday += 1;  // mktime normalises the month; tm_isdst -1 finds the offset again
    local.tm_hour = hour;
    local.tm_min = minute;
    local.tm_isdst = -1;
    at = std::mktime(&local);
  }
  return static_cast<int64_t>(at) * 1'000'000'000;
}

SearchBudget::SearchBudget(int64_t started_ns, const std::string& deadline, int study_timeout_s)
    : deadline_ns_(next_deadline_ns(started_ns, deadline)),
      deadline_text_(deadline),
      study_timeout_s_(study_timeout_s) {}

std::string SearchBudget::trial_problem(const std::string& study, int64_t now_ns) {
  if (deadline_ns_ && now_ns >= *deadline_ns_) {
    return "scheduler.deadline " + deadline_text_ + " passed: no new trials";
  }
  auto [started, first] = study_started_ns_.try_emplace(study, now_ns);
  if (study_timeout_s_ > 0 && now_ns - started->second >= int64_t{study_timeout_s_} * 1'000'000'000) {
    return "study_timeout_s (" + std::to_string(study_timeout_s_) + " s) reached";
  }
  return "";
}

}  // namespace nightshift::scheduler
