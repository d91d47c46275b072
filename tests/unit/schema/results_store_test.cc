// ResultsStore over a real SQLite file: what the persister writes reads back
// as written, and a damaged, foreign or newer database is refused with one
// clear error by both the writer and the readers.
#include "schema/results_store.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include <sys/wait.h>
#include <unistd.h>

#include "schema/migrations.h"
#include "tests/support/result_rows.h"

namespace nightshift {
namespace {

namespace fs = std::filesystem;

std::string temp_db() { return testing::temp_results_db(); }

JobResult result(const std::string& study, int64_t trial, uint32_t attempt = 1,
                 ResultStatus status = ResultStatus::ok) {
  return testing::sample_result(study, trial, attempt, status);
}

// Writes `results` in one transaction; says whether each created its row.
std::vector<bool> put(ResultsStore& store, const std::vector<JobResult>& results) {
  std::vector<bool> inserted;
  auto tx = sql::Transaction::begin(store.db());
  EXPECT_TRUE(tx.ok()) << tx.error();
  for (const JobResult& r : results) {
    bool created = false;
    Status st = store.put_result(r, 42, created);
    EXPECT_TRUE(st.ok()) << st.error();
    inserted.push_back(created);
  }
  EXPECT_TRUE(tx->commit().ok());
  return inserted;
}

int64_t count(ResultsStore& store, const std::string& sql) { return *store.db().query_int(sql); }

// The JSON columns are written by hand (not through an nlohmann tree); what
// they hold must read back as the values that were stored.
TEST(ResultsStore, JsonColumnsReadBackAsTheStoredValues) {
  auto store = ResultsStore::open_for_writing(temp_db());
  ASSERT_TRUE(store.ok()) << store.error();
  JobResult r = result("S", 0);
  r.params = {{"C", 2.0}, {"l1_ratio", 0.1}, {"tiny", 1e-300}, {"huge", 1.7976931348623157e308},
              {"negative", -0.30000000000000004}, {"odd \"key\"\\\n", 3.5},
              {"caf\xc3\xa9", 1.0}, {"bad \xff byte", 2.5}};
  r.metrics = {{"auc", 0.5523412341234123}, {"nan", std::nan("")},
               {"inf", std::numeric_limits<double>::infinity()}};
  r.folds = {FoldMetrics{{{"auc", 0.61}}, 800, 200}, FoldMetrics{{}, 0, 18446744073709551615ull}};
  put(*store, {r});
  auto row = store->db().prepare("SELECT params, metrics, folds FROM trials");
  ASSERT_TRUE(row.ok()) << row.error();
  ASSERT_TRUE(*row->step());
  auto params = nlohmann::json::parse(row->column_text(0));
  EXPECT_EQ(params.size(), r.params.size());
  for (const auto& [key, value] : r.params) {
    std::string stored_key = key == "bad \xff byte" ? "bad \xef\xbf\xbd byte" : key;  // U+FFFD
    ASSERT_TRUE(params.contains(stored_key)) << row->column_text(0);
    EXPECT_TRUE(params[stored_key].is_number_float()) << stored_key;
    EXPECT_EQ(params[stored_key].get<double>(), value) << stored_key;
  }
  auto metrics = nlohmann::json::parse(row->column_text(1));
  EXPECT_EQ(metrics["auc"].get<double>(), 0.5523412341234123);
  EXPECT_TRUE(metrics["nan"].is_null());
  EXPECT_TRUE(metrics["inf"].is_null());
  auto folds = nlohmann::json::parse(row->column_text(2));
  ASSERT_EQ(folds.size(), 2u);
  EXPECT_EQ(folds[0]["metrics"]["auc"].get<double>(), 0.61);
  EXPECT_EQ(folds[0]["train_rows"].get<uint64_t>(), 800u);
  EXPECT_EQ(folds[0]["test_rows"].get<uint64_t>(), 200u);
  EXPECT_TRUE(folds[1]["metrics"].is_object());
  EXPECT_EQ(folds[1]["test_rows"].get<uint64_t>(), 18446744073709551615ull);
  // For ordinary values the text is what nlohmann would write.
  JobResult plain = result("S", 1);
  plain.params = {{"C", 0.5}, {"max_iter", 200.0}};
  put(*store, {plain});
  auto text = store->db().prepare("SELECT params, folds FROM trials WHERE trial = 1");
  ASSERT_TRUE(text.ok());
  ASSERT_TRUE(*text->step());
  EXPECT_EQ(text->column_text(0), R"({"C":0.5,"max_iter":200.0})");
  EXPECT_EQ(text->column_text(1), R"([{"metrics":{"auc":0.61},"test_rows":20,"train_rows":100}])");
}

TEST(ResultsStore, ARedeliveryKeepsTheFirstRowAndSaysSo) {
  auto store = ResultsStore::open_for_writing(temp_db());
  ASSERT_TRUE(store.ok()) << store.error();
  JobResult first = result("S", 3);
  JobResult again = first;
  again.worker = "host/2";
  again.metrics = {{"auc", 0.9}};
  EXPECT_EQ(put(*store, {first, again}), (std::vector<bool>{true, false}));
  EXPECT_EQ(put(*store, {again}), (std::vector<bool>{false}));
  EXPECT_EQ(count(*store, "SELECT COUNT(*) FROM trials"), 1);
  auto row = store->db().prepare("SELECT worker, metrics FROM trials");
  ASSERT_TRUE(row.ok());
  ASSERT_TRUE(*row->step());
  EXPECT_EQ(row->column_text(0), "host/1");
  EXPECT_EQ(row->column_text(1), R"({"auc":0.6})");
}

// What `status` and `resume` read: counts per table, the persisted job keys
// (successes only), the best trial per study and each study's verdict.
TEST(ResultsStore, RunReadsCountWhatWasStored) {
  std::string path = temp_db();
  auto store = ResultsStore::open_for_writing(path);
  ASSERT_TRUE(store.ok()) << store.error();
  JobResult best = result("S", 1);
  best.metrics = {{"auc", 0.7}};
  best.params = {{"C", 0.25}};
  JobResult retried = result("S", 2, 2);
  JobResult failed = result("S", 3, 1, ResultStatus::failed);
  JobResult other_run = result("S", 4);
  other_run.key.run = "r2";
  JobResult final_fit = result("S", -1);
  final_fit.promoted = true;
  final_fit.gates = {{"min_auc", "pass"}};
  final_fit.metrics = {{"holdout_auc", 0.66}, {"auc", 0.66}, {"auc_p_value", 0.001}};
  final_fit.artifact_path = "models/x.bin";
  put(*store, {result("S", 0), best, retried, failed, other_run, final_fit});
  RunCheckpoint plan;  // studies are the plan's
  plan.run = "r1";
  for (int64_t trial : {0, 1, 2, 3, -1}) {
    Job job;
    job.key = JobKey{"r1", "S", trial};
    job.kind = trial < 0 ? JobKind::final_fit : JobKind::trial;
    job.symbol = "BTC";
    job.timeframe = "1h";
    plan.jobs.push_back(JobState{job, WorkState::pending, ""});
  }
  {
    auto tx = sql::Transaction::begin(store->db());
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(store->put_checkpoint(plan, 7).ok());
    ASSERT_TRUE(tx->commit().ok());
  }

  auto reader = ResultsStore::open_read_only(path);
  ASSERT_TRUE(reader.ok()) << reader.error();
  ASSERT_TRUE(reader->has_schema());
  auto counts = reader->run_counts("r1");
  ASSERT_TRUE(counts.ok()) << counts.error();
  EXPECT_EQ(counts->result_rows, 4);  // trials 0, 1, 2 and the final fit
  EXPECT_EQ(counts->retried_results, 1);
  EXPECT_EQ(counts->failed_attempts, 1);
  EXPECT_EQ(counts->models, 1);
  EXPECT_EQ(counts->gates_passed, 1);
  EXPECT_EQ(counts->promoted, 0);  // decided over the run once it completes
  {
    auto pending = reader->studies("r1");
    ASSERT_TRUE(pending.ok()) << pending.error();
    ASSERT_EQ(pending->size(), 1u);
    EXPECT_FALSE(*(*pending)[0].promoted);
    EXPECT_EQ((*pending)[0].verdict, "pending (decided when the run completes)");
    EXPECT_EQ((*pending)[0].p_value, 0.001);
  }
  {
    auto tx = sql::Transaction::begin(store->db());
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(store->decide_promotions("r1", 0.05).ok());
    ASSERT_TRUE(tx->commit().ok());
  }
  counts = reader->run_counts("r1");
  ASSERT_TRUE(counts.ok()) << counts.error();
  EXPECT_EQ(counts->promoted, 1);
  auto persisted = reader->persisted_jobs("r1");
  ASSERT_TRUE(persisted.ok()) << persisted.error();
  EXPECT_EQ(*persisted, (std::map<std::string, uint32_t>{
                            {"r1/S/0", 1}, {"r1/S/1", 1}, {"r1/S/2", 2}, {"r1/S/-1", 1}}));
  auto params = reader->best_trial_params("r1", "S");
  ASSERT_TRUE(params.ok()) << params.error();
  ASSERT_TRUE(params->has_value());
  EXPECT_EQ((**params).at("C"), 0.25);
  auto none = reader->best_trial_params("r1", "nope");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto studies = reader->studies("r1");
  ASSERT_TRUE(studies.ok()) << studies.error();
  ASSERT_EQ(studies->size(), 1u);
  EXPECT_EQ((*studies)[0].study, "S");
  ASSERT_TRUE((*studies)[0].promoted.has_value());
  EXPECT_TRUE(*(*studies)[0].promoted);
}

// Promotions are decided over every tested study of the run (Benjamini-
// Hochberg), after the per-study gates; deciding again after more final fits
// came in (a resumed run) decides over the whole run, not the new part.
TEST(ResultsStore, PromotionsAreDecidedOverTheWholeRun) {
  std::string path = temp_db();
  auto store = ResultsStore::open_for_writing(path);
  ASSERT_TRUE(store.ok()) << store.error();
  auto final_fit = [](const std::string& study, double p, bool gates_pass) {
    JobResult r = testing::sample_result(study, -1);
    r.metrics = {{"auc", 0.6}, {"auc_p_value", p}};
    r.promoted = gates_pass;
    r.gates = {{"min_auc", gates_pass ? "pass" : "fail: 0.5100 < 0.5200"}, {"max_auc_p_value", "pass"}};
    return r;
  };
  auto decide = [&] {
    auto tx = sql::Transaction::begin(store->db());
    ASSERT_TRUE(tx.ok());
    RunCheckpoint done;
    done.run = "r1";
    done.status = RunStatus::completed;
    ASSERT_TRUE(store->put_checkpoint(done, 9).ok());
    ASSERT_TRUE(store->decide_promotions("r1", 0.05).ok());
    ASSERT_TRUE(tx->commit().ok());
  };
  auto verdicts = [&] {
    std::map<std::string, std::pair<bool, double>> out;
    auto studies = store->studies("r1");
    EXPECT_TRUE(studies.ok()) << studies.error();
    auto stmt = store->db().prepare("SELECT study, promoted, q_value, decision FROM models WHERE run = 'r1'");
    EXPECT_TRUE(stmt.ok());
    while (*stmt->step()) out[stmt->column_text(0)] = {stmt->column_int(1) != 0, stmt->column_double(2)};
    return out;
  };
  // p = 0.001, 0.02, 0.04, 0.3 (m = 4): q = 0.004, 0.04, 0.0533, 0.3.
  put(*store, {final_fit("A", 0.001, true), final_fit("B", 0.02, true), final_fit("C", 0.04, true),
               final_fit("D", 0.3, true), final_fit("E", 0.0001, false)});
  // E has the smallest p but failed min_auc: tested (m = 5), never promoted.
  // p sorted: E 0.0001, A 0.001, B 0.02, C 0.04, D 0.3 -> q 0.0005, 0.0025, 0.0333, 0.05, 0.3.
  decide();
  auto v = verdicts();
  EXPECT_TRUE(v["A"].first);
  EXPECT_TRUE(v["B"].first);
  EXPECT_TRUE(v["C"].first);  // q = 0.05 <= 0.05
  EXPECT_FALSE(v["D"].first);
  EXPECT_FALSE(v["E"].first);
  EXPECT_NEAR(v["B"].second, 0.02 * 5 / 3, 1e-12);
  auto run = store->run("r1");
  ASSERT_TRUE(run.ok() && *run);
  EXPECT_EQ((*run)->fdr_q, 0.05);
  EXPECT_EQ((*run)->studies_tested, 5);
  auto decision_of = [&](const std::string& study) {
    auto stmt = store->db().prepare("SELECT decision FROM models WHERE run = 'r1' AND study = ?1");
    EXPECT_TRUE(stmt.ok());
    stmt->bind(1, study);
    return *stmt->step() ? stmt->column_text(0) : std::string();
  };
  EXPECT_NE(decision_of("D").find("fdr_q fail: q 0.3000 > 0.0500 (BH over 5 studies)"), std::string::npos)
      << decision_of("D");
  EXPECT_NE(decision_of("E").find("min_auc fail"), std::string::npos) << decision_of("E");
  EXPECT_EQ(decision_of("A").rfind("promoted: every gate passed, q 0.0025", 0), 0u) << decision_of("A");

  // Resumed: two more null-looking studies came in; the family is now 7 and
  // C (p = 0.04) no longer makes it: q = 0.04 * 7 / 4 = 0.07 (B: 0.02 * 7 / 3).
  put(*store, {final_fit("F", 0.5, true), final_fit("G", 0.7, true)});
  decide();
  v = verdicts();
  EXPECT_TRUE(v["A"].first);
  EXPECT_TRUE(v["B"].first);
  EXPECT_FALSE(v["C"].first);
  EXPECT_NEAR(v["C"].second, 0.07, 1e-12);
  EXPECT_NEAR(v["B"].second, 0.02 * 7 / 3, 1e-12);
  run = store->run("r1");
  EXPECT_EQ((*run)->studies_tested, 7);
  // A second final fit of a study (a redelivery or a retried final) does not
  // change its verdict: the first row is the one judged.
  auto again = final_fit("C", 0.00001, true);
  again.attempt = 2;
  EXPECT_EQ(put(*store, {again}), std::vector<bool>{false});
  decide();
  EXPECT_FALSE(verdicts()["C"].first);
}

TEST(ResultsStore, CheckpointRoundTripsThePlanAndStates) {
  std::string path = temp_db();
  auto store = ResultsStore::open_for_writing(path);
  ASSERT_TRUE(store.ok());
  RunCheckpoint c;
  c.run = "r1";
  c.status = RunStatus::interrupted;
  c.started_ns = 5;
  Job job;
  job.key = JobKey{"r1", "BTC.1h.h1.logreg_l2", 0};
  job.kind = JobKind::trial;
  job.symbol = "BTC";
  job.timeframe = "1h";
  job.attempt = 2;
  job.params = {{"C", 0.3}};
  c.jobs.push_back(JobState{job, WorkState::skipped, "failed 3 times"});
  {
    auto tx = sql::Transaction::begin(store->db());
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(store->put_checkpoint(c, 7).ok());
    ASSERT_TRUE(tx->commit().ok());
  }
  auto reader = ResultsStore::open_read_only(path);
  ASSERT_TRUE(reader.ok()) << reader.error();
  auto back = reader->checkpoint("r1");
  ASSERT_TRUE(back.ok()) << back.error();
  ASSERT_TRUE(back->has_value());
  const RunCheckpoint& b = **back;
  EXPECT_EQ(b.status, RunStatus::interrupted);
  ASSERT_EQ(b.jobs.size(), 1u);
  EXPECT_EQ(b.jobs[0].state, WorkState::skipped);
  EXPECT_EQ(b.jobs[0].reason, "failed 3 times");
  EXPECT_EQ(b.jobs[0].job.attempt, 2u);
  EXPECT_EQ(b.jobs[0].job.params.at("C"), 0.3);
  auto runs = reader->runs();
  ASSERT_TRUE(runs.ok()) << runs.error();
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].run, "r1");
  EXPECT_EQ((*runs)[0].status, RunStatus::interrupted);
  auto missing = reader->checkpoint("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST(ResultsStore, UnwritablePathIsAClearError) {
  auto store = ResultsStore::open_for_writing("/proc/nightshift-forbidden/nightshift.db");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().find("/proc/nightshift-forbidden"), std::string::npos) << store.error();
}

TEST(ResultsStore, AMissingFileIsNotFoundForReaders) {
  auto store = ResultsStore::open_read_only("/tmp/nightshift-no-such-dir/nightshift.db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error_kind(), ErrorKind::not_found);
  EXPECT_NE(store.error().find("does not exist"), std::string::npos) << store.error();
}

TEST(ResultsStore, AnotherProgramsDatabaseIsNamedAsSuchAndAnEmptyOneHasNoRuns) {
  std::string path = temp_db();
  {
    auto db = sql::Database::open(path);
    ASSERT_TRUE(db.ok()) << db.error();
  }
  auto empty = ResultsStore::open_read_only(path);
  ASSERT_TRUE(empty.ok()) << empty.error();
  auto none = empty->runs();
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_TRUE(none->empty());
  {
    auto db = sql::Database::open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->exec("CREATE TABLE bars (ts INTEGER)").ok());
  }
  auto foreign = ResultsStore::open_read_only(path);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().find("not nightshift's"), std::string::npos) << foreign.error();
  EXPECT_EQ(foreign.error_kind(), ErrorKind::invalid_input);
}

// A WAL database in a folder this user cannot write (a backup on read-only
// media): readers still read it, and never write beside it. Root writes
// anywhere, so the reader runs in a child dropped to nobody.
TEST(ResultsStore, AReadOnlyFolderIsStillReadable) {
  std::string path = temp_db();
  fs::path folder = fs::path(path).parent_path();
  {
    auto store = ResultsStore::open_for_writing(path);
    ASSERT_TRUE(store.ok()) << store.error();
    put(*store, {result("S", 0)});
  }  // closed: the WAL is merged and removed
  fs::permissions(folder, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                              fs::perms::group_exec | fs::perms::others_read |
                              fs::perms::others_exec);
  fs::permissions(path, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (geteuid() == 0 && setuid(65534) != 0) _exit(10);  // nobody
    auto reader = ResultsStore::open_read_only(path);
    if (!reader) _exit(11);
    auto rows = reader->db().query_int("SELECT COUNT(*) FROM trials");
    _exit(rows && *rows == 1 ? 0 : 12);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: setuid, 11: open refused, 12: wrong count";
  EXPECT_FALSE(fs::exists(path + "-shm"));
  EXPECT_FALSE(fs::exists(path + "-wal"));
}

// A results database that is damaged, foreign or from a newer nightshift:
// the writer and the reader each give one error that names the file and the
// problem, and neither touches the file.
class DamagedResultsDbTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = temp_db(); }

  void write_database() {
    auto store = ResultsStore::open_for_writing(path_);
    ASSERT_TRUE(store.ok()) << store.error();
    std::vector<JobResult> many;
    for (int i = 0; i < 2000; ++i) many.push_back(result("S" + std::to_string(i % 7), i));
    put(*store, many);
    ASSERT_TRUE(store->db().exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
  }

  // The error of each way in; the file's bytes must be as they were.
  void expect_refused(const std::string& needle, ErrorKind kind) {
    std::string before = bytes();
    for (bool writer : {true, false}) {
      SCOPED_TRACE(writer ? "writer" : "reader");
      auto store =
          writer ? ResultsStore::open_for_writing(path_) : ResultsStore::open_read_only(path_);
      if (store.ok()) {
        auto runs = store->runs();
        ADD_FAILURE() << "opened a bad database; runs(): " << (runs.ok() ? "ok" : runs.error());
        continue;
      }
      EXPECT_NE(store.error().find(path_), std::string::npos) << store.error();
      EXPECT_NE(store.error().find(needle), std::string::npos) << store.error();
      EXPECT_EQ(store.error().find('\n'), std::string::npos) << "one line: " << store.error();
      EXPECT_EQ(store.error_kind(), kind) << store.error();
    }
    EXPECT_EQ(bytes(), before) << "a refused database was rewritten";
  }

  std::string bytes() {
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  std::string path_;
};

TEST_F(DamagedResultsDbTest, TruncatedFileIsReportedAsDamaged) {
  write_database();
  ASSERT_FALSE(fs::exists(path_ + "-wal") && fs::file_size(path_ + "-wal") > 0);
  const auto full = fs::file_size(path_);
  ASSERT_GT(full, 16u * 4096u);
  fs::resize_file(path_, full / 2);
  expect_refused("damaged or truncated", ErrorKind::corrupt);
}

TEST_F(DamagedResultsDbTest, FileCutInsideTheHeaderIsReportedAsDamaged) {
  write_database();
  fs::resize_file(path_, 60);
  expect_refused("damaged or truncated", ErrorKind::corrupt);
}

TEST_F(DamagedResultsDbTest, GarbageFileIsReportedAsNotADatabase) {
  for (unsigned seed : {7u, 8u, 9u}) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    for (int i = 0; i < 64 * 1024; ++i) out.put(static_cast<char>(rng()));
    out.close();
    expect_refused("not a SQLite database", ErrorKind::corrupt);
  }
}

TEST_F(DamagedResultsDbTest, NewerSchemaVersionIsRefusedAndLeftAlone) {
  write_database();
  const int newer = sql::results_migrations().back().version + 1;
  {
    auto db = sql::Database::open(path_);
    ASSERT_TRUE(db.ok()) << db.error();
    ASSERT_TRUE(db->exec("PRAGMA user_version=" + std::to_string(newer)).ok());
    ASSERT_TRUE(db->exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
  }
  expect_refused("schema version " + std::to_string(newer) + " is newer", ErrorKind::corrupt);
}

}  // namespace
}  // namespace nightshift
