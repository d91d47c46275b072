// Search budgets: the deadline is the first HH:MM after the run started, in
// local time; a study's timeout runs from its first trial.
#include "stages/scheduler/budget.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace nightshift::scheduler {
namespace {

constexpr int64_t kS = 1'000'000'000;

int64_t utc_ns(int year, int month, int day, int hour, int minute) {
  std::tm t{};
  t.tm_year = year - 1900;
  t.tm_mon = month - 1;
  t.tm_mday = day;
  t.tm_hour = hour;
  t.tm_min = minute;
  return static_cast<int64_t>(timegm(&t)) * kS;
}

class Utc : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};

TEST_F(Utc, TheDeadlineIsTheFirstSuchTimeAfterTheRunStarted) {
  EXPECT_EQ(next_deadline_ns(utc_ns(2026, 12, 3, 22, 0), "06:00"), utc_ns(2026, 12, 4, 6, 0));
  EXPECT_EQ(next_deadline_ns(utc_ns(2026, 12, 31, 23, 30), "06:00"), utc_ns(2027, 1, 1, 6, 0));
  EXPECT_EQ(next_deadline_ns(utc_ns(2026, 12, 3, 5, 0), "06:00"), utc_ns(2026, 12, 3, 6, 0));
  EXPECT_EQ(next_deadline_ns(utc_ns(2026, 12, 3, 6, 0), "06:00"), utc_ns(2026, 12, 4, 6, 0));
  EXPECT_FALSE(next_deadline_ns(utc_ns(2026, 12, 3, 6, 0), ""));
}

TEST_F(Utc, NoTrialGoesOutAfterTheDeadline) {
  const int64_t start = utc_ns(2026, 12, 3, 22, 0);
  SearchBudget budget(start, "06:00", 0);
  EXPECT_EQ(budget.trial_problem("s", utc_ns(2026, 12, 4, 5, 59)), "");
  EXPECT_EQ(budget.trial_problem("s", utc_ns(2026, 12, 4, 6, 0)),
            "scheduler.deadline 06:00 passed: no new trials");
}

TEST(SearchBudget, AStudysTimeoutRunsFromItsFirstTrial) {
  SearchBudget budget(0, "", 60);
  EXPECT_EQ(budget.trial_problem("a", 100 * kS), "");
  EXPECT_EQ(budget.trial_problem("b", 150 * kS), "");
  EXPECT_EQ(budget.trial_problem("a", 159 * kS), "");
  EXPECT_EQ(budget.trial_problem("a", 160 * kS), "study_timeout_s (60 s) reached");
  EXPECT_EQ(budget.trial_problem("b", 160 * kS), "");  // b started later
}

}  // namespace
}  // namespace nightshift::scheduler
