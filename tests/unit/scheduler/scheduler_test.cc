// The scheduler stage with a real broker and persister in this process, on
// private loopback ports, and the test as the only worker: what it sends
// and what it believes.
#include "stages/scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "broker/broker.h"
#include "schema/topics.h"
#include "stages/persister/persister.h"
#include "tests/support/child_process.h"

namespace nightshift::scheduler {
namespace {

using namespace std::chrono_literals;

// One study: two trials, then a final fit.
const char* kYaml = R"(
symbols: [BTCUSDT]
timeframes: [1h]
horizons: [1]
models: [logreg_l2]
scheduler:
  trials_per_study: 2
  lease_s: 60
  grace_s: 1
telemetry:
  enabled: false
)";

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_ = testing::make_test_bus(kYaml);
    auto broker = bus::Broker::bind(context_, bus_.config.bus);
    ASSERT_TRUE(broker.ok()) << broker.error();
    broker_ = std::move(*broker);
    threads_.emplace_back([this] { broker_->run([this] { return stop_broker_.load(); }); });
    auto persister = persister::Persister::start(context_, bus_.config);
    ASSERT_TRUE(persister.ok()) << persister.error();
    persister_ = std::move(*persister);
    threads_.emplace_back([this] { persister_->run([this] { return stop_persister_.load(); }); });
    auto jobs = bus::JobReceiver::connect(context_, bus_.config.bus);
    ASSERT_TRUE(jobs.ok()) << jobs.error();
    jobs_.emplace(std::move(*jobs));
    auto results = bus::ResultSender::connect(context_, bus_.config.bus, bus::self_source("worker"));
    ASSERT_TRUE(results.ok()) << results.error();
    results_.emplace(std::move(*results));
    auto worker = bus::Publisher::connect(context_, bus_.config.bus, bus::self_source("worker"));
    ASSERT_TRUE(worker.ok()) << worker.error();
    worker_.emplace(std::move(*worker));
    auto forger = bus::Publisher::connect(context_, bus_.config.bus, bus::self_source("persister"));
    ASSERT_TRUE(forger.ok()) << forger.error();
    forger_.emplace(std::move(*forger));
    auto scheduler = Scheduler::start(context_, bus_.config, SchedulerOptions{"r1", false});
    ASSERT_TRUE(scheduler.ok()) << scheduler.error();
    scheduler_ = std::move(*scheduler);
    threads_.emplace_back([this] { scheduler_->run([this] { return stop_scheduler_.load(); }); });
  }

  void TearDown() override {
    stop_scheduler_ = true;
    if (threads_.size() > 2) threads_[2].join();
    stop_persister_ = true;
    if (threads_.size() > 1) threads_[1].join();
    stop_broker_ = true;
    threads_[0].join();
  }

  // Announces two free slots until `n` jobs have arrived; returns them.
  std::vector<Job> take_jobs(std::size_t n, std::chrono::milliseconds timeout = 10s) {
    std::vector<Job> out;
    Heartbeat beat;
    beat.host = "test";
    beat.worker_id = "1";
    beat.slots_total = beat.slots_free = 2;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      worker_->publish(topics::worker_heartbeat("test", "1"), beat);
      if (auto job = jobs_->receive(100ms)) out.push_back(job->payload);
    }
    return out;
  }

  // Jobs of run r1 in `state`, as the scheduler's last checkpoint says.
  int64_t jobs_in(const std::string& state) {
    auto store = ResultsStore::open_read_only(bus_.config.storage.results_db);
    if (!store) return -1;
    auto n = store->db().query_int("SELECT COUNT(*) FROM jobs WHERE run = 'r1' AND state = '" +
                                   state + "'");
    return n ? *n : -1;
  }

  // Polls until `n` jobs are in `state`; false after `timeout`.
  bool wait_for_jobs_in(const std::string& state, int64_t n, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (jobs_in(state) == n) return true;
      std::this_thread::sleep_for(50ms);
    }
    return jobs_in(state) == n;
  }

  testing::TestBus bus_;
  zmq::context_t context_{1};
  std::unique_ptr<bus::Broker> broker_;
  std::unique_ptr<persister::Persister> persister_;
  std::unique_ptr<Scheduler> scheduler_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_broker_{false}, stop_persister_{false}, stop_scheduler_{false};
  std::optional<bus::JobReceiver> jobs_;
  std::optional<bus::ResultSender> results_;
  std::optional<bus::Publisher> worker_;
  std::optional<bus::Publisher> forger_;
};

// Anything can publish job.persisted with src.stage "persister". The
// scheduler believes the database, not the event: forged announcements of
// success (and of failure) for both running trials change nothing, and the
// one real result is counted once the persister has stored it.
TEST_F(SchedulerTest, AJobPersistedEventWithoutItsRowIsIgnored) {
  auto jobs = take_jobs(2);
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
  EXPECT_TRUE(take_jobs(1, 1s).empty()) << "a forged failure made the scheduler retry";

  JobResult real;
  real.key = jobs[0].key;
  real.attempt = jobs[0].attempt;
  real.worker = "test/1";
  real.dispatch_token = jobs[0].dispatch_token;
  real.metrics = {{"auc", 0.6}};
  ASSERT_TRUE(results_->send(real, 2s));
  EXPECT_TRUE(wait_for_jobs_in("done", 1, 10s)) << "the stored result counts";
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(jobs_in("done"), 1) << "and only it";
  EXPECT_EQ(jobs_in("running"), 1);
}

}  // namespace
}  // namespace nightshift::scheduler
