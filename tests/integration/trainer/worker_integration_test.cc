// The worker as a real process between a real broker and a real fetcher:
// trials and final fits, heartbeats, predict on the artifact, malformed jobs,
// the hard memory cap and the soft threshold.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "broker/bus.h"
#include "schema/topics.h"
#include "tests/support/child_process.h"

namespace nightshift {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::nightshift_binary;

constexpr int kExitMemoryLimit = 3;  // stages/trainer/worker.h
constexpr int kExitRestart = 4;

class TrainerWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // 0.5 GB cap, restart above 0.25 GB; 40 days of 15m synthetic bars (~3800).
    bus_ = testing::make_test_bus(
        "max_memory_per_process: 0.5\nmemory_threshold: 0.5\n"
        "fetcher:\n  source: synthetic\n  history_days: 40\n");
    broker_ = start({"broker"}, "broker up");
    fetcher_ = start({"fetcher"}, "fetcher up");
    auto jobs = bus::JobSender::connect(context_, bus_.config.bus, bus::self_source("test"));
    auto results = bus::ResultReceiver::connect(context_, bus_.config.bus);
    auto events = bus::Subscriber::connect(context_, bus_.config.bus, {"worker.", "job.started"});
    ASSERT_TRUE(jobs && results && events);
    jobs_ = std::make_unique<bus::JobSender>(std::move(*jobs));
    results_ = std::make_unique<bus::ResultReceiver>(std::move(*results));
    events_ = std::make_unique<bus::Subscriber>(std::move(*events));
  }

  std::unique_ptr<ChildProcess> start(std::vector<std::string> args, const std::string& ready) {
    std::vector<std::string> argv = {nightshift_binary(), "--config", bus_.config_path};
    argv.insert(argv.end(), args.begin(), args.end());
    auto child = std::make_unique<ChildProcess>(argv);
    EXPECT_TRUE(child->wait_for_output(ready, 10s)) << args[0] << ": " << child->stderr_text();
    return child;
  }

  std::unique_ptr<ChildProcess> start_worker(const std::string& id) {
    return start({"worker", "--id", id, "--heartbeat-ms", "200"}, "worker " + id + " up");
  }

  static Job job(JobKind kind, int64_t trial) {
    Job j;
    j.key = {"run1", "SYNTH1-15m-h1-l2", trial};
    j.kind = kind;
    j.symbol = "SYNTH1";
    j.timeframe = "15m";
    j.horizon = 1;
    j.model = "logreg_l2";
    j.source = "synthetic";
    j.params = {{"C", 0.5}};
    j.dispatch_token = std::string(32, 'a');  // a worker refuses a job without one
    return j;
  }

  JobResult run(const Job& j, std::chrono::milliseconds timeout = 30s) {
    EXPECT_TRUE(jobs_->send(j, 2s));
    auto message = results_->receive(timeout);
    EXPECT_TRUE(message.has_value()) << "no result for trial " << j.key.trial;
    if (!message) return {};
    EXPECT_EQ(message->payload.key.trial, j.key.trial);
    return message->payload;
  }

  testing::TestBus bus_;
  zmq::context_t context_{1};
  std::unique_ptr<ChildProcess> broker_, fetcher_;
  std::unique_ptr<bus::JobSender> jobs_;
  std::unique_ptr<bus::ResultReceiver> results_;
  std::unique_ptr<bus::Subscriber> events_;
};

TEST_F(TrainerWorkerTest, TrialFinalHeartbeatsAndPredict) {
  auto worker = start_worker("t1");
  // PUB is lossy until the worker has our subscriptions (the slow joiner):
  // its first heartbeat here proves they arrived, job.started's with them.
  bool first_heartbeat = false;
  for (int i = 0; i < 50 && !first_heartbeat; ++i) {
    auto event = events_->receive(200ms);
    first_heartbeat = event && event->topic.find(".t1.heartbeat") != std::string::npos;
  }
  ASSERT_TRUE(first_heartbeat) << "no heartbeat from the worker";
  JobResult trial = run(job(JobKind::trial, 1));
  ASSERT_EQ(trial.status, ResultStatus::ok) << trial.reason;
  EXPECT_EQ(trial.folds.size(), 5u);
  EXPECT_GT(trial.metrics["auc"], 0.4);
  EXPECT_LT(trial.metrics["auc"], 0.6);
  EXPECT_GT(trial.wall_s, 0);
  EXPECT_GT(trial.cpu_s, 0);
  EXPECT_GT(trial.peak_rss_bytes, 1u << 20);
  EXPECT_FALSE(trial.data_fingerprint.empty());
  EXPECT_FALSE(trial.features_cached.value_or(true));
  EXPECT_FALSE(trial.cache_hit);  // the result cache is the scheduler's, never a worker's
  EXPECT_NE(trial.worker.find("/t1"), std::string::npos);

  JobResult again = run(job(JobKind::trial, 2));
  ASSERT_EQ(again.status, ResultStatus::ok) << again.reason;
  EXPECT_TRUE(again.features_cached.value_or(false));  // features computed once per dataset
  EXPECT_EQ(again.data_fingerprint, trial.data_fingerprint);

  JobResult final_fit = run(job(JobKind::final_fit, -1));
  ASSERT_EQ(final_fit.status, ResultStatus::ok) << final_fit.reason;
  ASSERT_TRUE(final_fit.artifact_path.has_value());
  EXPECT_TRUE(std::filesystem::exists(*final_fit.artifact_path));
  EXPECT_EQ(final_fit.gates.size(), 4u);  // min_auc, max_brier, min_acc, max_auc_p_value
  EXPECT_TRUE(final_fit.metrics.count("auc_p_value")) << "holdout metrics lack the AUC p-value";
  ASSERT_TRUE(final_fit.promoted.has_value());

  bool heartbeat = false, started = false;
  std::string seen;
  for (int i = 0; i < 200 && !(heartbeat && started); ++i) {
    auto event = events_->receive(200ms);
    if (!event) continue;
    seen += event->topic + " ";
    if (event->topic.rfind("worker.", 0) == 0 && event->topic.find(".t1.heartbeat") != std::string::npos) heartbeat = true;
    if (event->topic == topics::job("started", "run1")) started = true;
  }
  EXPECT_TRUE(heartbeat) << seen;
  EXPECT_TRUE(started) << seen;

  ChildProcess predict({nightshift_binary(), "--config", bus_.config_path, "predict", "--model",
                        *final_fit.artifact_path, "--symbol", "SYNTH1", "--last", "3"});
  ASSERT_EQ(predict.wait(30s), 0) << predict.stderr_text();
  EXPECT_TRUE(predict.wait_for_lines(4, 1s)) << predict.stdout_text();  // header + 3 bars
  EXPECT_NE(predict.stdout_text().find(",1,15m"), std::string::npos) << predict.stdout_text();
}

// Jobs no scheduler of this run sent are not run and not answered: names
// that are paths, no dispatch token, another run (--run). One worker takes
// jobs in order, so the first answer it gives must be the genuine job's.
TEST_F(TrainerWorkerTest, ForgedJobsAreRefusedWithoutAnAnswer) {
  auto worker = start({"worker", "--id", "t4", "--heartbeat-ms", "200", "--run", "run1"},
                      "worker t4 up");
  Job path = job(JobKind::final_fit, -1);
  path.key.study = "../../etc";
  Job run_path = job(JobKind::final_fit, -1);
  run_path.key.run = "../evil";
  Job symbol = job(JobKind::trial, 40);
  symbol.symbol = "SYNTH1/../x";
  Job no_token = job(JobKind::trial, 41);
  no_token.dispatch_token.reset();
  Job other_run = job(JobKind::final_fit, -1);
  other_run.key.run = "ghost";
  for (const Job& forged : {path, run_path, symbol, no_token, other_run}) {
    ASSERT_TRUE(jobs_->send(forged, 2s));
  }
  JobResult genuine = run(job(JobKind::trial, 42));
  EXPECT_EQ(genuine.key.trial, 42) << "a forged job was answered first";
  EXPECT_EQ(genuine.status, ResultStatus::ok) << genuine.reason;
  EXPECT_EQ(genuine.dispatch_token, job(JobKind::trial, 42).dispatch_token) << "the token is echoed";
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(bus_.config.storage.artifacts_dir) /
                                       "ghost"))
      << "a forged final fit wrote an artifact";
  worker->stop();
  EXPECT_NE(worker->stderr_text().find("refused a job"), std::string::npos) << worker->stderr_text();
}

TEST_F(TrainerWorkerTest, MalformedAndImpossibleJobsFailCleanly) {
  auto worker = start_worker("t2");
  ASSERT_TRUE(bus::send_raw(jobs_->socket(), "job", "not msgpack at all", 1s));
  Job unknown_model = job(JobKind::trial, 10);
  unknown_model.model = "svm";
  EXPECT_NE(run(unknown_model).reason.find("unknown model 'svm'"), std::string::npos);
  Job bad_tf = job(JobKind::trial, 11);
  bad_tf.timeframe = "7m";
  EXPECT_NE(run(bad_tf).reason.find("timeframe"), std::string::npos);
  Job few_rows = job(JobKind::trial, 12);
  few_rows.end_ts = 1'704'067'200 + 86'400;  // one day of 15m bars
  few_rows.start_ts = 1'704'067'200;
  JobResult few = run(few_rows);
  EXPECT_EQ(few.status, ResultStatus::failed);
  EXPECT_NE(few.reason.find("too few rows"), std::string::npos) << few.reason;
  Job bad_option = job(JobKind::trial, 13);
  bad_option.cv.n_splits = 1;
  EXPECT_NE(run(bad_option).reason.find("cv.n_splits must be in [2, 100]"), std::string::npos);
  JobResult good = run(job(JobKind::trial, 14));
  EXPECT_EQ(good.status, ResultStatus::ok) << good.reason;  // the worker carried on
  EXPECT_TRUE(worker->running());
}

TEST_F(TrainerWorkerTest, HardCapFailsTheJobAndAFreshWorkerCarriesOn) {
  auto worker = start_worker("t3");
  Job hog = job(JobKind::trial, 20);
  hog.memory_probe = MemoryProbe{1024, 0};  // twice the 0.5 GB cap
  JobResult failed = run(hog);
  EXPECT_EQ(failed.status, ResultStatus::failed);
  EXPECT_EQ(failed.reason, "memory limit");
  EXPECT_EQ(worker->wait(10s), kExitMemoryLimit) << worker->stderr_text();
  auto fresh = start_worker("t3b");
  JobResult ok = run(job(JobKind::trial, 21));
  EXPECT_EQ(ok.status, ResultStatus::ok) << ok.reason;
  EXPECT_TRUE(fresh->running());
}

TEST_F(TrainerWorkerTest, SoftThresholdRestartsBetweenJobs) {
  auto worker = start_worker("t4");
  Job leaky = job(JobKind::trial, 30);
  leaky.memory_probe = MemoryProbe{0, 300};  // RSS stays above 0.5 x 0.5 GB after the job
  JobResult done = run(leaky);
  EXPECT_EQ(done.status, ResultStatus::ok) << done.reason;  // the job itself finished and was reported
  EXPECT_GT(done.peak_rss_bytes, 300ull << 20);
  EXPECT_EQ(worker->wait(10s), kExitRestart) << worker->stderr_text();
}

}  // namespace
}  // namespace nightshift
