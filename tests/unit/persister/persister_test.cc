// The persister stage with a real broker in this process, on private loopback
// ports: when batches commit (full, on time, on stop), what is announced, and
// what the event log keeps.
#include "stages/persister/persister.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include "broker/broker.h"
#include "schema/dispatch_token.h"
#include "schema/event_messages.h"
#include "schema/topics.h"
#include "tests/support/child_process.h"

namespace nightshift::persister {
namespace {

using namespace std::chrono_literals;

const std::string kStudy = "BTC.1h.h1.logreg_l2";
const std::string kKey(64, 'b');  // the run's dispatch key

JobResult result(int64_t trial, uint32_t attempt = 1) {
  JobResult r;
  r.key = JobKey{"r1", kStudy, trial};
  r.attempt = attempt;
  r.dispatch_token = dispatch_token(kKey, r.key, attempt);
  r.status = nightshift::ResultStatus::ok;
  r.worker = "host/1";
  r.params = {{"C", 0.5}};
  r.metrics = {{"auc", 0.6}};
  r.folds = {FoldMetrics{{{"auc", 0.61}}, 100, 20}};
  return r;
}

class PersisterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_ = testing::make_test_bus();
    record_plan();
    auto broker = bus::Broker::bind(context_, bus_.config.bus);
    ASSERT_TRUE(broker.ok()) << broker.error();
    broker_ = std::move(*broker);
    broker_thread_ = std::thread([this] { broker_->run([this] { return stop_broker_.load(); }); });
    auto announcements = bus::Subscriber::connect(context_, bus_.config.bus,
                                                  {topics::job("persisted", "r1")});
    ASSERT_TRUE(announcements.ok()) << announcements.error();
    announcements_.emplace(std::move(*announcements));
    auto sender = bus::ResultSender::connect(context_, bus_.config.bus, bus::self_source("worker"));
    ASSERT_TRUE(sender.ok()) << sender.error();
    sender_.emplace(std::move(*sender));
  }

  // Run r1 as its scheduler records it before dispatching: trials 0..9 and
  // the final fit (-1) of one study, with the run's dispatch key.
  void record_plan() {
    auto store = ResultsStore::open_for_writing(bus_.config.storage.results_db);
    ASSERT_TRUE(store.ok()) << store.error();
    RunCheckpoint plan;
    plan.run = "r1";
    plan.dispatch_key = kKey;
    for (int64_t trial = -1; trial < 10; ++trial) {
      Job job;
      job.key = JobKey{"r1", kStudy, trial};
      job.symbol = "BTC";
      job.timeframe = "1h";
      plan.jobs.push_back(JobState{job, nightshift::WorkState::pending, ""});
    }
    auto tx = sql::Transaction::begin(store->db());
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(store->put_checkpoint(plan, 1).ok());
    ASSERT_TRUE(tx->commit().ok());
  }

  void TearDown() override {
    stop_persister();
    stop_broker_ = true;
    if (broker_thread_.joinable()) broker_thread_.join();
  }

  void start_persister(PersisterTuning tuning, const std::string& run = "") {
    auto persister = Persister::start(context_, bus_.config, tuning, run);
    ASSERT_TRUE(persister.ok()) << persister.error();
    persister_ = std::move(*persister);
    persister_thread_ = std::thread([this] { persister_->run([this] { return stop_.load(); }); });
    // Connections and subscriptions up. A socket attaches a new connection
    // (and sends its subscriptions) only when used, so keep the subscriber busy.
    auto until = std::chrono::steady_clock::now() + 300ms;
    while (std::chrono::steady_clock::now() < until) {
      ASSERT_FALSE(announcements_->receive(10ms)) << "nothing was sent yet";
    }
  }

  void stop_persister() {
    stop_ = true;
    if (persister_thread_.joinable()) persister_thread_.join();
  }

  void send(const JobResult& r) { ASSERT_TRUE(sender_->send(r, 2s)); }

  int64_t count(const std::string& sql) {
    auto store = ResultsStore::open_read_only(bus_.config.storage.results_db);
    if (!store) return -1;
    auto n = store->db().query_int(sql);
    return n ? *n : -1;
  }

  // Polls until `sql` counts `n` rows; false after `timeout`.
  bool wait_for_count(const std::string& sql, int64_t n, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (count(sql) == n) return true;
      std::this_thread::sleep_for(10ms);
    }
    return count(sql) == n;
  }

  // The job.persisted announcements heard within `timeout`, up to `n`.
  std::vector<PersistedResult> announcements(std::size_t n, std::chrono::milliseconds timeout = 10s) {
    std::vector<PersistedResult> out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto envelope = announcements_->receive(50ms);
      if (!envelope) continue;
      auto persisted = decode_payload<JobsPersisted>(envelope->frame);
      if (!persisted) continue;
      ++announcement_messages_;
      for (const auto& event : persisted->jobs) out.push_back(event);
    }
    return out;
  }

  testing::TestBus bus_;
  int announcement_messages_ = 0;  // job.persisted messages heard (each lists jobs)
  zmq::context_t context_{1};
  std::unique_ptr<bus::Broker> broker_;
  std::thread broker_thread_;
  std::atomic<bool> stop_broker_{false};
  std::optional<bus::Subscriber> announcements_;
  std::optional<bus::ResultSender> sender_;
  std::unique_ptr<Persister> persister_;
  std::thread persister_thread_;
  std::atomic<bool> stop_{false};
};

TEST_F(PersisterTest, APartialBatchCommitsOnTimeAndIsAnnounced) {
  start_persister(PersisterTuning{CommitPolicy{1000, 50ms}});
  for (int64_t trial = 0; trial < 3; ++trial) send(result(trial));
  EXPECT_TRUE(wait_for_count("SELECT COUNT(*) FROM trials", 3));
  auto heard = announcements(3);
  ASSERT_EQ(heard.size(), 3u);
  for (const auto& event : heard) EXPECT_EQ(event.status, nightshift::ResultStatus::ok);
}

TEST_F(PersisterTest, AFullBatchCommitsWithoutWaitingForTheDelay) {
  start_persister(PersisterTuning{CommitPolicy{10, std::chrono::hours(1)}});
  for (int64_t trial = 0; trial < 5; ++trial) send(result(trial));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(count("SELECT COUNT(*) FROM trials"), 0) << "half a batch waits for the delay";
  for (int64_t trial = 5; trial < 10; ++trial) send(result(trial));
  EXPECT_TRUE(wait_for_count("SELECT COUNT(*) FROM trials", 10));
  EXPECT_EQ(announcements(10).size(), 10u);
  EXPECT_EQ(announcement_messages_, 1) << "one commit, one announcement";
}

TEST_F(PersisterTest, StopCommitsWhatItHolds) {
  start_persister(PersisterTuning{CommitPolicy{1000, std::chrono::hours(1)}});
  for (int64_t trial = 0; trial < 3; ++trial) send(result(trial));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(count("SELECT COUNT(*) FROM trials"), 0);
  stop_persister();
  EXPECT_EQ(count("SELECT COUNT(*) FROM trials"), 3);
  EXPECT_EQ(persister_->stats().commits, 1u);
}

// Redeliveries that arrive together land in one batch: still one row per job,
// and each delivery is announced (the scheduler may have missed the first).
TEST_F(PersisterTest, RedeliveriesInOneBatchKeepOneRowAndAreAllAnnounced) {
  start_persister(PersisterTuning{CommitPolicy{1000, 200ms}});
  send(result(0, 1));
  send(result(0, 2));
  send(result(1, 1));
  auto heard = announcements(3);
  EXPECT_EQ(heard.size(), 3u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM trials"), 2);
  EXPECT_EQ(count("SELECT attempt FROM trials WHERE trial = 0"), 1);
  stop_persister();
  EXPECT_EQ(persister_->stats().duplicates, 1u);
  EXPECT_EQ(persister_->stats().new_rows, 2u);
}

// The event log keeps the job events other stages publish, not the
// persister's own job.persisted announcements (the trials table says those).
TEST_F(PersisterTest, TheEventLogKeepsJobEventsButNotOurAnnouncements) {
  start_persister(PersisterTuning{CommitPolicy{1000, 20ms}});
  auto worker = bus::Publisher::connect(context_, bus_.config.bus, bus::self_source("worker"));
  ASSERT_TRUE(worker.ok()) << worker.error();
  JobEvent started;
  started.key = result(0).key;
  started.state = nightshift::JobStep::started;
  // A new publisher's first messages are lost until subscriptions reach it.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (count("SELECT COUNT(*) FROM events WHERE topic LIKE 'job.started.%'") < 1 &&
         std::chrono::steady_clock::now() < deadline) {
    worker->publish(topics::job("started", "r1"), started);
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_GE(count("SELECT COUNT(*) FROM events WHERE topic LIKE 'job.started.%'"), 1);
  send(result(0));
  ASSERT_EQ(announcements(1).size(), 1u);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE topic LIKE 'job.persisted.%'"), 0);
}

// Alerts are kept as JSON too; a payload with invalid UTF-8 (the wire does
// not check) is stored with U+FFFD instead of throwing out of intake.
TEST_F(PersisterTest, AnAlertWithInvalidUtf8IsStoredNotFatal) {
  start_persister(PersisterTuning{CommitPolicy{1000, 20ms}});
  auto telemetry = bus::Publisher::connect(context_, bus_.config.bus, bus::self_source("telemetry"));
  ASSERT_TRUE(telemetry.ok()) << telemetry.error();
  Event alert;
  alert.name = "disk \xff full";
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (count("SELECT COUNT(*) FROM alerts") < 1 && std::chrono::steady_clock::now() < deadline) {
    telemetry->publish("alert.warn.host.disk", alert);
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_GE(count("SELECT COUNT(*) FROM alerts"), 1);
  EXPECT_GE(count("SELECT COUNT(*) FROM alerts WHERE instr(body, 'disk \xef\xbf\xbd full') > 0"), 1);
  send(result(0));
  EXPECT_TRUE(wait_for_count("SELECT COUNT(*) FROM trials", 1)) << "intake still running";
}

// What a hostile PUSH to the results pipeline could claim. Each forged
// result is refused for its own reason, none is stored or announced, and
// the refusals are counted; the one genuine result beside them is stored.
TEST_F(PersisterTest, ForgedResultsAreRefusedCountedAndNeverStored) {
  namespace fs = std::filesystem;
  fs::path models = fs::path(bus_.config.storage.artifacts_dir) / "r1";
  fs::create_directories(models);
  std::ofstream(models / "model.json") << "{}";
  fs::path outside = fs::path(bus_.dir) / "outside.json";
  std::ofstream(outside) << "{}";
  fs::create_symlink(outside, models / "escape.json");
  start_persister(PersisterTuning{CommitPolicy{1000, 20ms}});

  std::vector<std::pair<std::string, JobResult>> forged;
  auto add = [&](const std::string& why, JobResult r) { forged.emplace_back(why, std::move(r)); };
  JobResult r = result(1);
  r.dispatch_token.reset();
  add("no token", r);
  r = result(1);
  r.dispatch_token = std::string(32, '0');
  add("wrong token", r);
  r = result(1, 2);
  r.dispatch_token = result(1, 1).dispatch_token;  // attempt 1's token for attempt 2
  add("token of another attempt", r);
  r = result(1);
  r.key.run = "r2";
  r.dispatch_token = dispatch_token(kKey, r.key, 1);
  add("unknown run", r);
  r = result(1);
  r.key.study = "ETH.1h.h1.logreg_l2";
  r.dispatch_token = dispatch_token(kKey, r.key, 1);
  add("unknown study", r);
  r = result(99);
  add("trial not in the plan", r);
  r = result(1);
  r.key.study = "../x";
  r.dispatch_token = dispatch_token(kKey, r.key, 1);
  add("bad study name", r);
  r = result(1);
  r.metrics = {{"auc", 1.5}, {"accuracy", 7.0}, {"brier", -1.0}};
  add("auc out of range", r);
  r = result(1);
  r.metrics = {{"auc", std::numeric_limits<double>::quiet_NaN()}};
  add("NaN metric", r);
  r = result(1);
  r.folds[0].metrics = {{"log_loss", -std::numeric_limits<double>::infinity()}};
  add("infinite fold metric", r);
  r = result(1);
  r.metrics = {{"log_loss", -0.5}};
  add("negative log loss", r);
  r = result(-1);
  r.artifact_path = "/etc/passwd";
  r.promoted = true;
  add("artifact outside the folder", r);
  r = result(-1);
  r.artifact_path = (models / "escape.json").string();
  r.promoted = true;
  add("artifact symlink out of the folder", r);
  r = result(-1);
  r.artifact_path = (models / "missing.json").string();
  add("missing artifact", r);
  r = result(-1);
  r.artifact_path = (models / ".." / ".." / "outside.json").string();
  add("artifact path with ..", r);
  for (const auto& [why, message] : forged) send(message);
  JobResult genuine = result(-1);
  genuine.artifact_path = (models / "model.json").string();
  genuine.promoted = true;
  send(genuine);

  auto heard = announcements(forged.size() + 1, 3s);
  ASSERT_EQ(heard.size(), 1u) << "only the genuine result is announced";
  EXPECT_EQ(heard[0].key.trial, -1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM trials"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM failures"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM models"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM models WHERE artifact_path = '" +
                  (models / "model.json").string() + "'"),
            1);
  EXPECT_EQ(persister_->refused(), forged.size());
  stop_persister();
  EXPECT_EQ(persister_->stats().new_rows, 1u);
}

// A forged failure is refused like a forged success: it would make the
// scheduler retry and then skip a job that never failed.
TEST_F(PersisterTest, AFailureWithoutItsTokenIsRefused) {
  start_persister(PersisterTuning{CommitPolicy{1000, 20ms}});
  JobResult failure = result(2);
  failure.status = nightshift::ResultStatus::failed;
  failure.reason = "forged";
  failure.dispatch_token = std::string(32, 'f');
  send(failure);
  failure.dispatch_token = result(2).dispatch_token;
  failure.reason = "genuine";
  send(failure);
  EXPECT_TRUE(wait_for_count("SELECT COUNT(*) FROM failures WHERE reason = 'genuine'", 1));
  EXPECT_EQ(count("SELECT COUNT(*) FROM failures"), 1);
  EXPECT_EQ(persister_->refused(), 1u);
}

// The run's key is recorded once: a checkpoint with another key (or none)
// cannot replace it, change the plan, or mark jobs done.
TEST_F(PersisterTest, ACheckpointWithAnotherKeyIsRefused) {
  start_persister(PersisterTuning{CommitPolicy{1000, 20ms}});
  auto sender = bus::CheckpointSender::connect(context_, bus_.config.bus, bus::self_source("scheduler"));
  ASSERT_TRUE(sender.ok()) << sender.error();
  RunCheckpoint forged;
  forged.run = "r1";
  forged.status = nightshift::RunStatus::completed;
  forged.dispatch_key = std::string(64, 'c');
  Job extra;
  extra.key = JobKey{"r1", "EVIL.1h.h1.logreg_l2", 0};
  extra.symbol = "EVIL";
  forged.jobs.push_back(JobState{extra, nightshift::WorkState::done, ""});
  ASSERT_TRUE(sender->send(forged, 2s));
  forged.dispatch_key.reset();
  ASSERT_TRUE(sender->send(forged, 2s));
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (persister_->refused() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  send(result(3));  // the run's real key still admits its results
  EXPECT_TRUE(wait_for_count("SELECT COUNT(*) FROM trials", 1));
  EXPECT_EQ(count("SELECT COUNT(*) FROM jobs WHERE study LIKE 'EVIL%'"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE dispatch_key = '" + kKey + "'"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE status = 'completed'"), 0);
  EXPECT_EQ(persister_->refused(), 2u);
}

// A persister the supervisor started for run r1 stores nothing of another
// run: a forged checkpoint cannot create a run (and with it a key of the
// forger's choosing), and r1's own results still go in.
TEST_F(PersisterTest, APersisterForOneRunRefusesAnotherRunsCheckpoint) {
  start_persister(PersisterTuning{CommitPolicy{1000, 20ms}}, "r1");
  auto sender = bus::CheckpointSender::connect(context_, bus_.config.bus, bus::self_source("scheduler"));
  ASSERT_TRUE(sender.ok()) << sender.error();
  RunCheckpoint ghost;
  ghost.run = "ghost";
  ghost.dispatch_key = std::string(64, 'd');
  Job job;
  job.key = JobKey{"ghost", kStudy, 0};
  job.symbol = "BTC";
  ghost.jobs.push_back(JobState{job, nightshift::WorkState::pending, ""});
  ASSERT_TRUE(sender->send(ghost, 2s));
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (persister_->refused() < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(persister_->refused(), 1u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE run = 'ghost'"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM jobs WHERE run = 'ghost'"), 0);
  send(result(4));
  EXPECT_TRUE(wait_for_count("SELECT COUNT(*) FROM trials", 1));
}

// Nor does it keep job or run events of another run in the event log.
TEST_F(PersisterTest, APersisterForOneRunKeepsNoEventsOfAnotherRun) {
  start_persister(PersisterTuning{CommitPolicy{1000, 20ms}}, "r1");
  auto worker = bus::Publisher::connect(context_, bus_.config.bus, bus::self_source("worker"));
  ASSERT_TRUE(worker.ok()) << worker.error();
  JobEvent started;
  started.key = JobKey{"ghost", kStudy, 0};
  started.state = nightshift::JobStep::started;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while ((persister_->refused() < 1 ||
          count("SELECT COUNT(*) FROM events WHERE topic = 'job.started.r1'") < 1) &&
         std::chrono::steady_clock::now() < deadline) {
    worker->publish(topics::job("started", "ghost"), started);
    started.key.run = "r1";
    worker->publish(topics::job("started", "r1"), started);
    started.key.run = "ghost";
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GE(persister_->refused(), 1u);
  EXPECT_GE(count("SELECT COUNT(*) FROM events WHERE topic = 'job.started.r1'"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE topic LIKE '%ghost%'"), 0);
}

}  // namespace
}  // namespace nightshift::persister
