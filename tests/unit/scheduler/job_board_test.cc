#include "stages/scheduler/job_board.h"

#include <gtest/gtest.h>

#include <set>

#include "config/config.h"
#include "stages/scheduler/plan.h"
#include "stages/scheduler/sampler.h"

namespace nightshift::scheduler {
namespace {

using namespace std::chrono_literals;

config::Config small_config() {
  config::Config c;
  c.symbols = {"AAA", "BBB"};
  c.timeframes = {"1h"};
  c.horizons = {1};
  c.scheduler.trials_per_study = 2;
  return c;
}

JobBoard board(BoardLimits limits = {}) { return JobBoard(plan_run(small_config(), "r1"), limits); }

TEST(Plan, StudiesHaveTrialsThenABlockedFinalInVolumeOrder) {
  auto jobs = plan_run(small_config(), "r1");
  ASSERT_EQ(jobs.size(), 6u);  // 2 studies x (2 trials + final)
  EXPECT_EQ(jobs[0].job.key.study, "AAA.1h.h1.logreg_l2");
  EXPECT_EQ(jobs[0].state, nightshift::WorkState::pending);
  EXPECT_EQ(jobs[2].job.key.trial, kFinalTrial);
  EXPECT_EQ(jobs[2].state, nightshift::WorkState::blocked);
  EXPECT_LT(jobs[0].job.priority, jobs[3].job.priority);  // first symbol first
  EXPECT_EQ(jobs[0].job.params.at("C"), 1.0);            // trial 0: defaults
  EXPECT_NE(jobs[1].job.params.at("C"), 1.0);
}

// cv.scheme and the CV settings reach every job: a setting the night
// accepted is one the worker applies.
TEST(Plan, JobsCarryTheConfiguredCv) {
  for (const char* scheme : {"purged_kfold", "walk_forward"}) {
    config::Config c = small_config();
    c.cv.scheme = scheme;
    c.embargo_minutes = 45;
    c.holdout_fraction = 0.3;
    for (const auto& j : plan_run(c, "r1")) {
      EXPECT_EQ(wire_text(j.job.cv.scheme), std::string(scheme));
      EXPECT_EQ(j.job.cv.embargo_minutes, 45u);
      EXPECT_EQ(j.job.cv.holdout_fraction, 0.3);
    }
  }
}

TEST(Plan, ARepeatedConfigEntryPlansEachStudyOnce) {
  config::Config c = small_config();
  c.symbols = {"AAA", "BBB", "AAA"};  // the loader rejects this; the plan survives it anyway
  auto jobs = plan_run(c, "r1");
  EXPECT_EQ(jobs.size(), 6u);
  std::set<std::string> keys;
  for (const auto& j : jobs) keys.insert(j.job.key.study + "/" + std::to_string(j.job.key.trial));
  EXPECT_EQ(keys.size(), jobs.size());
}

TEST(Sampler, IsDeterministicPerStudyAndTrial) {
  config::Config c;
  auto a = plan_params(c, "logreg_enet", "S", 3);
  EXPECT_EQ(a, plan_params(c, "logreg_enet", "S", 3));
  EXPECT_NE(a, plan_params(c, "logreg_enet", "S", 4));
  EXPECT_TRUE(a.count("l1_ratio"));
  EXPECT_GE(a.at("C"), 1e-3);
  EXPECT_LE(a.at("C"), 1e2);
}

TEST(JobBoard, SendsByPriorityAndCountsAttempts) {
  auto b = board();
  JobState* first = b.next_ready();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->job.key.study, "AAA.1h.h1.logreg_l2");
  Job sent = JobBoard::next_attempt(*first);
  b.start(*first, sent, Clock::now() + 10s);
  EXPECT_EQ(sent.attempt, 1u);
  EXPECT_EQ(b.counts().running, 1u);
  EXPECT_TRUE(b.persisted(sent.key, sent.attempt));
  EXPECT_FALSE(b.persisted(sent.key, sent.attempt));  // a duplicate announcement changes nothing
  EXPECT_EQ(b.counts().done, 1u);
}

// A row can come from an attempt this board never counted (sent before a
// restart whose checkpoint did not record it); the job must not be stored
// as done with 0 attempts beside a trial row of attempt 1.
TEST(JobBoard, APersistedRowRaisesTheAttemptCountToItsAttempt) {
  auto b = board();
  JobState* job = b.next_ready();
  ASSERT_EQ(job->job.attempt, 0u);
  JobKey key = job->job.key;
  EXPECT_TRUE(b.persisted(key, 1));
  EXPECT_EQ(b.jobs()[0].state, nightshift::WorkState::done);
  EXPECT_EQ(b.jobs()[0].job.attempt, 1u);
}

TEST(JobBoard, ExpiredLeaseRetriesThenSkipsAtMaxAttempts) {
  auto b = board(BoardLimits{3, 100});
  auto now = Clock::now();
  JobState* job = b.next_ready();
  JobKey key = job->job.key;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    job = b.next_ready();
    ASSERT_EQ(job->job.key.trial, key.trial);
    b.start(*job, JobBoard::next_attempt(*job), now + 1s);
    auto expired = b.expire(now + 2s);
    ASSERT_EQ(expired.size(), 1u);
  }
  const JobState& skipped = b.jobs()[0];
  EXPECT_EQ(skipped.state, nightshift::WorkState::skipped);
  EXPECT_EQ(skipped.job.attempt, 3u);
  EXPECT_NE(skipped.reason.find("lease expired"), std::string::npos);
  EXPECT_EQ(b.counts().failed_attempts, 3u);
}

TEST(JobBoard, StaleFailureOfAnOldAttemptIsIgnored) {
  auto b = board();
  JobState* job = b.next_ready();
  JobKey key = job->job.key;
  b.start(*job, JobBoard::next_attempt(*job), Clock::now() - 1s);
  b.expire(Clock::now());  // attempt 1 lost; pending again
  JobState* again = b.next_ready();
  b.start(*again, JobBoard::next_attempt(*again), Clock::now() + 10s);
  EXPECT_FALSE(b.failed(key, 1, "late failure of attempt 1"));
  EXPECT_TRUE(b.failed(key, 2, "boom"));
  EXPECT_EQ(b.jobs()[0].state, nightshift::WorkState::pending);
}

TEST(JobBoard, FinalIsReleasedWithBestParamsOrSkippedWithoutTrials) {
  auto b = board(BoardLimits{1, 100});
  EXPECT_TRUE(b.studies_ready_for_final().empty());
  for (int i = 0; i < 2; ++i) {
    JobState* job = b.next_ready();
    b.start(*job, JobBoard::next_attempt(*job), Clock::now() + 10s);
    if (job->job.key.study.rfind("AAA", 0) == 0) {
      b.persisted(job->job.key, job->job.attempt);
    }
  }
  auto ready = b.studies_ready_for_final();
  ASSERT_EQ(ready.size(), 1u);
  b.release_final(ready[0], std::map<std::string, double>{{"C", 0.5}});
  EXPECT_EQ(b.jobs()[2].state, nightshift::WorkState::pending);
  EXPECT_EQ(b.jobs()[2].job.params.at("C"), 0.5);
  b.release_final("BBB.1h.h1.logreg_l2", std::nullopt);
  EXPECT_EQ(b.jobs()[5].state, nightshift::WorkState::blocked);  // its trials are not settled yet
}

TEST(JobBoard, ASymbolThatKeepsFailingIsSkippedForTheRun) {
  auto b = board(BoardLimits{5, 2});
  for (int i = 0; i < 2; ++i) {
    JobState* job = b.next_ready();
    ASSERT_EQ(job->job.symbol, "AAA");
    Job sent = JobBoard::next_attempt(*job);
    b.start(*job, sent, Clock::now() + 10s);
    b.failed(sent.key, sent.attempt, "no data");
  }
  for (const auto& j : b.jobs()) {
    if (j.job.symbol == "AAA") {
      EXPECT_EQ(j.state, nightshift::WorkState::skipped) << j.job.key.study << "/" << j.job.key.trial;
      EXPECT_NE(j.reason.find("symbol AAA skipped"), std::string::npos);
    } else {
      EXPECT_NE(j.state, nightshift::WorkState::skipped);
    }
  }
  EXPECT_EQ(b.next_ready()->job.symbol, "BBB");
}

TEST(JobBoard, RequeueAfterRestartKeepsAttempts) {
  auto b = board();
  JobState* job = b.next_ready();
  b.start(*job, JobBoard::next_attempt(*job), Clock::now() + 10s);
  b.requeue_running();
  EXPECT_EQ(b.jobs()[0].state, nightshift::WorkState::pending);
  EXPECT_EQ(b.jobs()[0].job.attempt, 1u);
  EXPECT_FALSE(b.finished());
}

// A scheduler restarted from a checkpoint older than its last sends learns
// from the stored row of an attempt it never counted.
TEST(JobBoard, AStoredResultOfAnUncountedAttemptRaisesTheAttemptCount) {
  auto b = board();
  JobState* job = b.next_ready();
  b.start(*job, JobBoard::next_attempt(*job), Clock::now() + 10s);  // attempt 1
  b.requeue_running();
  const JobKey key = b.jobs()[0].job.key;
  EXPECT_TRUE(b.persisted(key, 3));  // attempt 3 was sent before the restart
  EXPECT_EQ(b.jobs()[0].job.attempt, 3u);
  EXPECT_EQ(b.jobs()[0].state, nightshift::WorkState::done);
  EXPECT_FALSE(b.persisted(key, 2));  // older news changes nothing
  EXPECT_EQ(b.jobs()[0].job.attempt, 3u);
}

}  // namespace
}  // namespace nightshift::scheduler
