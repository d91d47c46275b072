// A live night run under forged messages: while `nightshift run` trains with
// real workers, this test pushes to the bound endpoints what a hostile local
// client could (issue 13): results for jobs that have not run, for unknown
// runs and studies and for finished jobs; out-of-range and non-finite
// metrics; final fits claiming promotion with /etc/passwd as the artifact;
// job.persisted events signed "persister"; events of an unknown run; jobs
// for an unknown run and with "../" in their names. The run must end as if none of it had been sent.
#include <gtest/gtest.h>

#include <dirent.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <stdexcept>
#include <sstream>
#include <thread>

#include "base/process.h"
#include "broker/bus.h"
#include "schema/results_store.h"
#include "schema/topics.h"
#include "tests/integration/night/night_helpers.h"
#include "tests/support/child_process.h"

namespace nightshift {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;

// 2 symbols x 2 horizons = 4 studies of 8 trials and a final fit: 36 jobs
// for 2 real workers on synthetic data (long enough history that the run
// lasts a few seconds, so forgeries land before the jobs they name run).
const char* kYaml = R"(
symbols: [BTCUSDT, ETHUSDT]
timeframes: [1h]
horizons: [1, 3]
scheduler:
  trials_per_study: 8
  lease_s: 120
  grace_s: 5
fetcher:
  source: synthetic
  history_days: 1500
telemetry:
  enabled: false
)";
constexpr int kJobs = 36;
const std::string kRun = "night";
const std::string kLastStudy = "ETHUSDT.1h.h3.logreg_l2";  // runs last (lowest priority)

std::set<std::string> column(const testing::TestBus& bus, const std::string& sql) {
  std::set<std::string> out;
  auto store = ResultsStore::open_read_only(bus.config.storage.results_db);
  if (!store) return out;
  auto stmt = store->db().prepare(sql);
  if (!stmt) return out;
  while (true) {
    auto has = stmt->step();
    if (!has || !*has) break;
    out.insert(stmt->column_text(0));
  }
  return out;
}

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Everything the stages logged for the run.
std::string run_logs(const testing::TestBus& bus) {
  std::string text;
  std::filesystem::path dir = std::filesystem::path(bus.dir) / "logs" / kRun;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    text += "== " + entry.path().filename().string() + "\n" + file_text(entry.path().string());
  }
  return text;
}

JobResult forged_result(const std::string& run, const std::string& study, int64_t trial) {
  JobResult r;
  r.key = JobKey{run, study, trial};
  r.attempt = 1;
  r.status = ResultStatus::ok;
  r.worker = "evil/9";
  r.params = {{"C", 1.0}};
  r.metrics = {{"auc", 0.99}, {"accuracy", 0.99}, {"brier", 0.01}};
  r.dispatch_token = std::string(32, 'e');
  return r;
}

template <class Client>
Client connected(Result<Client> client) {
  if (!client) throw std::runtime_error(client.error());
  return std::move(*client);
}

// What a hostile local client can push, as the bus clients of this project
// (any other client library puts the same frames on the same endpoints).
class Attacker {
 public:
  explicit Attacker(const config::BusConfig& bus)
      : results_(connected(bus::ResultSender::connect(context_, bus, bus::self_source("worker")))),
        jobs_(connected(bus::JobSender::connect(context_, bus, bus::self_source("scheduler")))),
        events_(connected(bus::Publisher::connect(context_, bus, bus::self_source("persister")))),
        worker_events_(connected(bus::Publisher::connect(context_, bus, bus::self_source("worker")))) {}

  void forge_results(const std::set<std::string>& finished) {
    // Real jobs that have not run yet, with believable and absurd content.
    for (int64_t trial = 0; trial < 8; ++trial) {
      JobResult r = forged_result(kRun, kLastStudy, trial);
      r.dispatch_token.reset();
      send(r);
      r = forged_result(kRun, kLastStudy, trial);
      r.metrics = {{"auc", 1.5}, {"accuracy", 7.0}, {"brier", -1.0}};
      send(r);
      r.metrics = {{"auc", std::numeric_limits<double>::quiet_NaN()},
                   {"log_loss", std::numeric_limits<double>::infinity()}};
      send(r);
    }
    // Final fits that claim promotion, with an artifact outside the folder.
    for (const char* study : {"BTCUSDT.1h.h1.logreg_l2", "BTCUSDT.1h.h3.logreg_l2",
                              "ETHUSDT.1h.h1.logreg_l2", "ETHUSDT.1h.h3.logreg_l2"}) {
      JobResult r = forged_result(kRun, study, -1);
      r.artifact_path = "/etc/passwd";
      r.promoted = true;
      r.gates = {{"min_auc", "pass"}};
      send(r);
    }
    // Unknown runs and studies, and names that are paths.
    send(forged_result("ghost", kLastStudy, 0));
    send(forged_result(kRun, "NOPE.1h.h1.logreg_l2", 0));
    send(forged_result("..", "../../etc", 0));
    // Finished jobs: a second row, or a replaced one, must not appear.
    for (const std::string& key : finished) {
      auto slash = key.rfind('/');
      JobResult r = forged_result(kRun, key.substr(0, slash), std::stoll(key.substr(slash + 1)));
      r.attempt = 2;
      send(r);
    }
  }

  // job.persisted for every job of the plan, ok and failed, signed persister.
  void forge_persisted() {
    JobsPersisted forged;
    forged.run = kRun;
    for (const char* study : {"BTCUSDT.1h.h1.logreg_l2", "BTCUSDT.1h.h3.logreg_l2",
                              "ETHUSDT.1h.h1.logreg_l2", "ETHUSDT.1h.h3.logreg_l2"}) {
      for (int64_t trial = -1; trial < 8; ++trial) {
        forged.jobs.push_back(PersistedResult{{kRun, study, trial}, 1, ResultStatus::ok, "", "evil/9"});
        for (uint32_t attempt = 1; attempt <= 3; ++attempt) {
          forged.jobs.push_back(
              PersistedResult{{kRun, study, trial}, attempt, ResultStatus::failed, "forged", "evil/9"});
        }
      }
    }
    events_.publish(topics::job("persisted", kRun), forged);
    // Events of a run that does not exist, for the event log.
    JobEvent started{{"ghost", kLastStudy, 0}, JobStep::started, 1, "", "evil/9"};
    worker_events_.publish(topics::job("started", "ghost"), started);
    RunProgress progress;
    progress.run = "ghost";
    worker_events_.publish(topics::run_progress("ghost"), progress);
  }

  // Jobs no scheduler sent: an unknown run, and names that are paths.
  void forge_jobs() {
    Job job;
    job.attempt = 1;
    job.kind = JobKind::final_fit;
    job.symbol = "BTCUSDT";
    job.timeframe = "1h";
    job.model = "logreg_l2";
    job.source = "synthetic";
    job.params = {{"C", 1.0}};
    job.dispatch_token = std::string(32, 'e');
    for (auto [run, study] : {std::pair<std::string, std::string>{"ghost", "BTCUSDT.1h.h1.logreg_l2"},
                              {"../evil", "../../x"},
                              {kRun, "../BTCUSDT.1h.h1.logreg_l2"}}) {
      job.key = JobKey{run, study, -1};
      jobs_.send(job, 200ms);
    }
  }

 private:
  void send(const JobResult& r) { results_.send(r, 200ms); }

  zmq::context_t context_{1};
  bus::ResultSender results_;
  bus::JobSender jobs_;
  bus::Publisher events_;
  bus::Publisher worker_events_;
};

TEST(ForgedMessages, ANightRunStoresOnlyWhatItsRealWorkersProduced) {
  auto bus = testing::make_test_bus(kYaml);
  ChildProcess run({testing::nightshift_binary(), "--config", bus.config_path, "run", "--run-id",
                    kRun, "--workers", "2"});
  // The attack starts once the plan is recorded, before any result is.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (testing::query_db(bus.config.storage.results_db, "SELECT COUNT(*) FROM runs WHERE run = '" + kRun + "'") != 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(testing::query_db(bus.config.storage.results_db, "SELECT COUNT(*) FROM runs WHERE run = '" + kRun + "'"), 1)
      << run.stdout_text() << run.stderr_text();
  Attacker attacker(bus.config.bus);
  // Repeated for a few seconds: a new publisher's first events are lost
  // until the broker passes it the subscriptions, and finished jobs appear.
  auto attack_until = std::chrono::steady_clock::now() + 4s;
  while (std::chrono::steady_clock::now() < attack_until && run.running()) {
    attacker.forge_results(column(bus, "SELECT study || '/' || trial FROM trials WHERE run = '" +
                                           kRun + "'"));
    attacker.forge_persisted();
    attacker.forge_jobs();
    std::this_thread::sleep_for(250ms);
  }
  auto status = run.wait(180s);
  ASSERT_TRUE(status.has_value()) << run.stdout_text();
  EXPECT_EQ(*status, 0) << run.stdout_text() << run.stderr_text();

  // Every job done, with exactly one row, from an attempt the scheduler counted.
  const std::string r = "'" + kRun + "'";
  EXPECT_EQ(testing::query_db(bus.config.storage.results_db, "SELECT COUNT(*) FROM jobs WHERE run = " + r + " AND state = 'done'"), kJobs);
  EXPECT_EQ(testing::query_db(bus.config.storage.results_db, "SELECT COUNT(*) FROM trials WHERE run = " + r), kJobs);
  EXPECT_EQ(testing::query_db(bus.config.storage.results_db, "SELECT COUNT(*) FROM jobs j JOIN trials t ON t.run = j.run AND "
                       "t.study = j.study AND t.trial = j.trial WHERE j.run = " + r +
                       " AND (t.attempt < 1 OR t.attempt > j.attempts)"),
            0);
  // Produced by the real workers, with metrics in range.
  std::set<std::string> real_workers{host_name() + "/1", host_name() + "/2"};
  for (const std::string& worker : column(bus, "SELECT DISTINCT worker FROM trials")) {
    EXPECT_TRUE(real_workers.count(worker)) << "a row from " << worker;
  }
  EXPECT_EQ(testing::query_db(bus.config.storage.results_db, "SELECT COUNT(*) FROM trials WHERE json_extract(metrics, '$.auc') > 1 OR "
                       "json_extract(metrics, '$.accuracy') > 1 OR "
                       "json_extract(metrics, '$.brier') < 0"),
            0);
  // One model per study, its artifact in the artifacts folder; nothing else.
  EXPECT_EQ(testing::query_db(bus.config.storage.results_db, "SELECT COUNT(*) FROM models"), 4);
  std::string artifacts = std::filesystem::canonical(bus.config.storage.artifacts_dir).string();
  for (const std::string& path : column(bus, "SELECT artifact_path FROM models")) {
    std::error_code ec;
    std::string resolved = std::filesystem::canonical(path, ec).string();
    EXPECT_FALSE(ec) << path << ": " << ec.message();
    EXPECT_EQ(resolved.rfind(artifacts + "/", 0), 0u) << path;
  }
  // No trace of the forgeries anywhere.
  for (const char* table : {"trials", "failures", "models", "jobs", "studies"}) {
    EXPECT_EQ(testing::query_db(bus.config.storage.results_db, std::string("SELECT COUNT(*) FROM ") + table + " WHERE run <> " + r +
                             " OR study LIKE '%..%' OR study LIKE 'NOPE%'"),
              0)
        << table;
  }
  EXPECT_EQ(testing::query_db(bus.config.storage.results_db, "SELECT COUNT(*) FROM runs"), 1);
  EXPECT_EQ(testing::query_db(bus.config.storage.results_db, "SELECT COUNT(*) FROM failures WHERE worker = 'evil/9'"), 0);
  EXPECT_EQ(testing::query_db(bus.config.storage.results_db, "SELECT COUNT(*) FROM events WHERE topic LIKE '%ghost%' OR topic LIKE "
                       "'%..%' OR instr(body, 'evil') > 0"),
            0);
  // Refused where they arrived, and no stage crashed over it.
  std::string logs = run_logs(bus);
  EXPECT_NE(logs.find("refused result"), std::string::npos) << "the persister counts refusals";
  EXPECT_NE(logs.find("refused a job"), std::string::npos) << "workers refuse forged jobs";
  EXPECT_NE(logs.find("has no row in the database; ignored"), std::string::npos)
      << "the scheduler ignores forged job.persisted";
  EXPECT_EQ(logs.find("restarted"), std::string::npos) << logs;
  EXPECT_EQ(run.stdout_text().find("restarted"), std::string::npos);
  EXPECT_EQ(run.stderr_text().find("restarted"), std::string::npos);
  EXPECT_EQ(run.stdout_text().find("/etc/passwd"), std::string::npos) << run.stdout_text();
}

}  // namespace
}  // namespace nightshift
