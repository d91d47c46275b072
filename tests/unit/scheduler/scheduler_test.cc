// The scheduler stage against a real broker and persister in this process,
// on private loopback ports, with the test playing the worker: an expired
// lease re-sends the job with the next attempt and skips it after
// max_attempts; a result whose job.persisted never arrives is found in the
// database and the run goes on.
#include "stages/scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "broker/broker.h"
#include "schema/event_messages.h"
#include "schema/telemetry_messages.h"
#include "schema/topics.h"
#include "stages/persister/persister.h"
#include "tests/support/child_process.h"

namespace nightshift::scheduler {
namespace {

using namespace std::chrono_literals;

// One study, one trial and its final fit.
const char* kPlanYaml = R"(
symbols: [BTCUSDT]
timeframes: [1h]
horizons: [1]
models: [logreg_l2]
telemetry:
  enabled: false
# No dataset service here: the result cache would wait for fingerprints
# (tests/integration/night/night_cache_test.cc covers it with real stages).
cache:
  enabled: false
)";

class SchedulerTest : public ::testing::Test {
 protected:
  void start(const std::string& scheduler_yaml) {
    bus_ = testing::make_test_bus(std::string(kPlanYaml) + scheduler_yaml);
    auto broker = bus::Broker::bind(context_, bus_.config.bus);
    ASSERT_TRUE(broker.ok()) << broker.error();
    broker_ = std::move(*broker);
    broker_thread_ = std::thread([this] { broker_->run([this] { return stop_broker_.load(); }); });
    auto persister = persister::Persister::start(context_, bus_.config, persister::PersisterTuning{});
    ASSERT_TRUE(persister.ok()) << persister.error();
    persister_ = std::move(*persister);
    persister_thread_ =
        std::thread([this] { persister_->run([this] { return stop_persister_.load(); }); });
    auto jobs = bus::JobReceiver::connect(context_, bus_.config.bus);
    ASSERT_TRUE(jobs.ok()) << jobs.error();
    jobs_.emplace(std::move(*jobs));
    auto results = bus::ResultSender::connect(context_, bus_.config.bus, bus::self_source("worker"));
    ASSERT_TRUE(results.ok()) << results.error();
    results_.emplace(std::move(*results));
    auto publisher = bus::Publisher::connect(context_, bus_.config.bus, bus::self_source("worker"));
    ASSERT_TRUE(publisher.ok()) << publisher.error();
    publisher_.emplace(std::move(*publisher));
    // Anything on the bus can claim to be the persister.
    auto forger = bus::Publisher::connect(context_, bus_.config.bus, bus::self_source("persister"));
    ASSERT_TRUE(forger.ok()) << forger.error();
    forger_.emplace(std::move(*forger));
    auto scheduler = Scheduler::start(context_, bus_.config, SchedulerOptions{"r1", false});
    ASSERT_TRUE(scheduler.ok()) << scheduler.error();
    scheduler_ = std::move(*scheduler);
    outcome_ = std::async(std::launch::async,
                          [this] { return scheduler_->run([this] { return stop_.load(); }); });
  }

  void TearDown() override {
    stop_ = true;
    if (outcome_.valid()) outcome_.wait();
    stop_persister_ = true;
    if (persister_thread_.joinable()) persister_thread_.join();
    stop_broker_ = true;
    if (broker_thread_.joinable()) broker_thread_.join();
  }

  // Plays a worker with one slot: heartbeats until a job arrives.
  std::optional<Job> next_job(std::chrono::milliseconds timeout) {
    Heartbeat heartbeat;
    heartbeat.host = "testhost";
    heartbeat.worker_id = "1";
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      publisher_->publish(topics::worker_heartbeat(heartbeat.host, heartbeat.worker_id), heartbeat);
      if (auto job = jobs_->receive(100ms)) return job->payload;
    }
    return std::nullopt;
  }

  // What a worker would answer: the job's token back, and for a final fit an
  // artifact that exists inside storage.artifacts_dir (the persister checks both).
  JobResult answer(const Job& job) {
    JobResult r;
    r.key = job.key;
    r.attempt = job.attempt;
    r.status = ResultStatus::ok;
    r.worker = "testhost/1";
    r.dispatch_token = job.dispatch_token;
    r.params = job.params.empty() ? std::map<std::string, double>{{"C", 1.0}} : job.params;
    r.metrics = {{"auc", 0.6}, {"accuracy", 0.55}, {"brier", 0.24}};
    r.folds = {FoldMetrics{{{"auc", 0.6}}, 100, 20}};
    r.wall_s = 0.1;
    if (job.kind == JobKind::final_fit) {
      std::filesystem::create_directories(bus_.config.storage.artifacts_dir);
      std::string path = bus_.config.storage.artifacts_dir + "/" + job.key.study + ".bin";
      std::ofstream(path) << "model";
      r.artifact_path = path;
    }
    return r;
  }

  // Announces `slots` free slots until `n` jobs have arrived; returns them.
  std::vector<Job> take_jobs(std::size_t n, uint32_t slots, std::chrono::milliseconds timeout) {
    std::vector<Job> out;
    Heartbeat beat;
    beat.host = "testhost";
    beat.worker_id = "1";
    beat.slots_total = beat.slots_free = slots;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      publisher_->publish(topics::worker_heartbeat(beat.host, beat.worker_id), beat);
      if (auto job = jobs_->receive(100ms)) out.push_back(job->payload);
    }
    return out;
  }

  // Jobs of run r1 in `state`, as the scheduler's last stored checkpoint says.
  int64_t jobs_in(const std::string& state) {
    auto store = ResultsStore::open_read_only(bus_.config.storage.results_db);
    if (!store) return -1;
    auto n = store->db().query_int("SELECT COUNT(*) FROM jobs WHERE run = 'r1' AND state = '" +
                                   state + "'");
    return n ? *n : -1;
  }

  bool wait_for_jobs_in(const std::string& state, int64_t n, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (jobs_in(state) == n) return true;
      std::this_thread::sleep_for(50ms);
    }
    return jobs_in(state) == n;
  }

  // The run's checkpoint as the persister stored it.
  std::optional<RunCheckpoint> stored_checkpoint() {
    auto store = ResultsStore::open_read_only(bus_.config.storage.results_db);
    if (!store) return std::nullopt;
    auto checkpoint = store->checkpoint("r1");
    if (!checkpoint || !*checkpoint) return std::nullopt;
    return **checkpoint;
  }

  testing::TestBus bus_;
  zmq::context_t context_{1};
  std::unique_ptr<bus::Broker> broker_;
  std::thread broker_thread_;
  std::atomic<bool> stop_broker_{false};
  std::unique_ptr<persister::Persister> persister_;
  std::thread persister_thread_;
  std::atomic<bool> stop_persister_{false};
  std::optional<bus::JobReceiver> jobs_;
  std::optional<bus::ResultSender> results_;
  std::optional<bus::Publisher> publisher_;
  std::optional<bus::Publisher> forger_;
  std::unique_ptr<Scheduler> scheduler_;
  std::future<RunOutcome> outcome_;
  std::atomic<bool> stop_{false};
};

TEST_F(SchedulerTest, AnExpiredLeaseResendsTheJobThenSkipsItAfterMaxAttempts) {
  start("scheduler:\n  lease_s: 1\n  max_attempts: 2\n  grace_s: 1\n");
  auto first = next_job(10s);
  ASSERT_TRUE(first) << "no job was sent to a worker with a free slot";
  EXPECT_EQ(first->kind, JobKind::trial);
  EXPECT_EQ(first->attempt, 1u);
  auto sent_at = std::chrono::steady_clock::now();
  // Never answered: the lease (1 s) runs out and the job comes back.
  auto second = next_job(10s);
  ASSERT_TRUE(second) << "the job was not re-sent after its lease expired";
  EXPECT_EQ(second->key.study, first->key.study);
  EXPECT_EQ(second->key.trial, first->key.trial);
  EXPECT_EQ(second->attempt, 2u);
  EXPECT_GE(std::chrono::steady_clock::now() - sent_at, 900ms) << "re-sent before the lease ran out";
  // Unanswered again: max_attempts (2) reached, so the trial is skipped and
  // the study's final fit with it; nothing more is sent and the run ends.
  EXPECT_FALSE(next_job(2500ms)) << "a job was sent after max_attempts";
  ASSERT_EQ(outcome_.wait_for(15s), std::future_status::ready) << "the run did not end";
  EXPECT_EQ(outcome_.get(), RunOutcome::completed);
  auto checkpoint = stored_checkpoint();
  ASSERT_TRUE(checkpoint);
  EXPECT_EQ(checkpoint->status, RunStatus::completed);
  ASSERT_EQ(checkpoint->jobs.size(), 2u);
  for (const JobState& state : checkpoint->jobs) {
    EXPECT_EQ(state.state, WorkState::skipped) << job_key_text(state.job.key);
    EXPECT_FALSE(state.reason.empty()) << job_key_text(state.job.key);
  }
}

TEST_F(SchedulerTest, AResultWhoseAnnouncementIsLostIsFoundInTheDatabase) {
  start("scheduler:\n  lease_s: 60\n  grace_s: 1\n");
  auto trial = next_job(10s);
  ASSERT_TRUE(trial);
  ASSERT_EQ(trial->kind, JobKind::trial);
  // The result reaches the database but its job.persisted never reaches the
  // scheduler: written here, beside the persister, as a lost event would leave it.
  {
    auto store = ResultsStore::open_for_writing(bus_.config.storage.results_db);
    ASSERT_TRUE(store.ok()) << store.error();
    auto tx = sql::Transaction::begin(store->db());
    ASSERT_TRUE(tx.ok()) << tx.error();
    bool inserted = false;
    ASSERT_TRUE(store->put_result(answer(*trial), now_ns(), inserted).ok());
    ASSERT_TRUE(inserted);
    ASSERT_TRUE(tx->commit().ok());
  }
  // The scheduler reads the database (every few seconds), marks the trial
  // done and releases the final fit with the stored trial's params; the
  // 60 s lease means nothing here came from an expiry.
  auto final_fit = next_job(15s);
  ASSERT_TRUE(final_fit) << "the stored trial was never noticed";
  EXPECT_EQ(final_fit->kind, JobKind::final_fit);
  EXPECT_EQ(final_fit->attempt, 1u);
  EXPECT_EQ(final_fit->params, answer(*trial).params);
  ASSERT_TRUE(results_->send(answer(*final_fit), 2s));
  ASSERT_EQ(outcome_.wait_for(20s), std::future_status::ready) << "the run did not end";
  EXPECT_EQ(outcome_.get(), RunOutcome::completed);
  auto checkpoint = stored_checkpoint();
  ASSERT_TRUE(checkpoint);
  EXPECT_EQ(checkpoint->status, RunStatus::completed);
  for (const JobState& state : checkpoint->jobs) {
    EXPECT_EQ(state.state, WorkState::done) << job_key_text(state.job.key);
    EXPECT_EQ(state.job.attempt, 1u) << job_key_text(state.job.key) << " was sent twice";
  }
}

TEST_F(SchedulerTest, MoreFailuresThanTheThresholdRaiseAnAlertResolvedAtTheEnd) {
  start("scheduler:\n  lease_s: 60\n  max_attempts: 3\n  grace_s: 1\n"
        "telemetry:\n  enabled: false\n  alerts:\n    failed_jobs: 1\n");
  auto heard = bus::Subscriber::connect(context_, bus_.config.bus, {"alert."});
  ASSERT_TRUE(heard.ok()) << heard.error();
  // Let the subscription reach the broker before anything can fail.
  auto joined = std::chrono::steady_clock::now() + 300ms;
  while (std::chrono::steady_clock::now() < joined) ASSERT_FALSE(heard->receive(10ms));
  // Two failed attempts of the trial (more than 1), then a success.
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto job = next_job(15s);
    ASSERT_TRUE(job) << "attempt " << attempt;
    ASSERT_EQ(job->attempt, static_cast<uint32_t>(attempt));
    JobResult r = answer(*job);
    if (attempt < 3) {
      r.status = ResultStatus::failed;
      r.reason = "boom";
      r.metrics.clear();
      r.folds.clear();
    }
    ASSERT_TRUE(results_->send(r, 2s));
    if (job->kind == JobKind::final_fit) break;
  }
  auto final_fit = next_job(15s);
  ASSERT_TRUE(final_fit);
  ASSERT_TRUE(results_->send(answer(*final_fit), 2s));
  std::vector<Alert> seen;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline &&
         (seen.empty() || seen.back().state != "resolved")) {
    if (auto alert = heard->receive_as<Alert>(100ms)) seen.push_back(alert->payload);
  }
  ASSERT_EQ(seen.size(), 2u) << "expected one firing and one resolved alert";
  EXPECT_EQ(seen[0].state, "firing");
  EXPECT_EQ(seen[0].metric, "run.failed_jobs");
  EXPECT_EQ(seen[0].level, "warning");
  EXPECT_EQ(seen[0].value, 2);
  EXPECT_NE(seen[0].message.find("2 failed job attempts"), std::string::npos) << seen[0].message;
  EXPECT_EQ(seen[1].state, "resolved");
  ASSERT_EQ(outcome_.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(outcome_.get(), RunOutcome::completed);
}

TEST_F(SchedulerTest, NothingIsSentWithoutAWorkerHeard) {
  start("scheduler:\n  lease_s: 60\n  grace_s: 1\n");
  EXPECT_FALSE(jobs_->receive(1500ms)) << "a job went out with no worker slot announced";
  auto job = next_job(10s);
  ASSERT_TRUE(job) << "the announced slot got no job";
  // One slot, one job in flight: the next waits for a free slot.
  auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until) {
    Heartbeat heartbeat;
    heartbeat.host = "testhost";
    heartbeat.worker_id = "1";
    publisher_->publish(topics::worker_heartbeat(heartbeat.host, heartbeat.worker_id), heartbeat);
    EXPECT_FALSE(jobs_->receive(100ms)) << "a second job was sent to a worker with one slot";
  }
}

// The scheduler believes the database, not the event: forged announcements
// of success (and of failure) for both running trials change nothing, and
// the one real result is counted once the persister has stored it.
TEST_F(SchedulerTest, AJobPersistedEventWithoutItsRowIsIgnored) {
  start("scheduler:\n  trials_per_study: 2\n  lease_s: 60\n  grace_s: 1\n");
  auto jobs = take_jobs(2, 2, 10s);
  ASSERT_EQ(jobs.size(), 2u) << "two trials dispatched";
  for (const Job& job : jobs) {
    ASSERT_TRUE(job.dispatch_token.has_value());
    EXPECT_EQ(job.attempt, 1u);
  }
  JobsPersisted forged;
  forged.run = "r1";
  for (const Job& job : jobs) {
    forged.jobs.push_back(PersistedResult{job.key, 1, ResultStatus::ok, "", "evil/9"});
    forged.jobs.push_back(PersistedResult{job.key, 1, ResultStatus::failed, "forged", "evil/9"});
  }
  // Published for a while: a new publisher's first messages may be lost.
  for (int i = 0; i < 10; ++i) {
    forger_->publish(topics::job("persisted", "r1"), forged);
    std::this_thread::sleep_for(100ms);
  }
  // The scheduler checkpoints a change within a second or two.
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(jobs_in("done"), 0) << "a forged job.persisted marked a job done";
  EXPECT_EQ(jobs_in("running"), 2) << "a forged job.persisted changed a running job";
  EXPECT_TRUE(take_jobs(1, 2, 1s).empty()) << "a forged failure made the scheduler retry";

  ASSERT_TRUE(results_->send(answer(jobs[0]), 2s));
  EXPECT_TRUE(wait_for_jobs_in("done", 1, 10s)) << "the stored result counts";
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(jobs_in("done"), 1) << "and only it";
  EXPECT_EQ(jobs_in("running"), 1);
}

}  // namespace
}  // namespace nightshift::scheduler
