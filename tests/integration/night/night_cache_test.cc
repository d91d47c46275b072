// The result cache across runs and the results database's backups, with real
// processes (docs/cache.md): the real binary's `run` with real workers
// training on synthetic data, real SQLite files.
//
// - A second run of an unchanged night inside the TTL sends no job to a
//   worker (no job.started event of it; every trials row a cache hit) and
//   promotes the same models.
// - Changing one symbol's data invalidates exactly that symbol's entries.
// - With a TTL shorter than the gap between runs, every entry is recomputed,
//   and the persister counts the expired ones it deleted.
// - `cache stats` / `cache clear`.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/integration/night/cli_run.h"
#include "tests/integration/night/night_helpers.h"
#include "tests/support/child_process.h"

namespace nightshift {
namespace {

using namespace std::chrono_literals;
using testing::run_cli;

// 2 symbols, daily bars (the synthetic series end at the last closed bar, so
// two runs seconds apart see the same data), 3 random trials and a final fit
// per study: 8 jobs. AAA carries a planted signal, so its model is promoted.
std::string night_yaml(double bbb_signal, const std::string& extra = "") {
  return R"(
symbols: [AAA, BBB]
timeframes: [1d]
horizons: [1]
models: [logreg_l2]
scheduler:
  lease_s: 60
  grace_s: 2
  trials_per_study: 3
fetcher:
  source: synthetic
  synthetic_signals:
    AAA: {strength: 0.3}
    BBB: {strength: )" + std::to_string(bbb_signal) + R"(}
telemetry:
  enabled: false
)" + extra;
}

int64_t query(const testing::TestBus& bus, const std::string& sql) {
  return testing::query_db(bus.config.storage.results_db, sql);
}

testing::CliOutcome run_night(const testing::TestBus& bus, const std::string& run) {
  return run_cli({"--config", bus.config_path, "run", "--run-id", run, "--workers", "2"}, 120s);
}

nlohmann::json status_json(const testing::TestBus& bus, const std::string& run) {
  auto out = run_cli({"--config", bus.config_path, "status", run, "--json"}, 20s);
  EXPECT_EQ(out.exit_code, 0) << out.describe();
  return nlohmann::json::parse(out.stdout_text, nullptr, false);
}

// Writes the test bus's config again with `yaml` (same endpoints, same files).
void rewrite_config(const testing::TestBus& bus, const std::string& yaml) {
  auto again = testing::make_test_bus(yaml);
  std::ifstream in(again.config_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Same folder as the first bus: swap the other bus's folder for ours.
  for (auto pos = text.find(again.dir); pos != std::string::npos; pos = text.find(again.dir, pos)) {
    text.replace(pos, again.dir.size(), bus.dir);
    pos += bus.dir.size();
  }
  std::ofstream(bus.config_path) << text;
}

std::string promoted(const testing::TestBus& bus, const std::string& run) {
  auto store = ResultsStore::open_read_only(bus.config.storage.results_db);
  if (!store) return "?";
  auto s = store->db().prepare("SELECT study FROM models WHERE run = ?1 AND promoted = 1 ORDER BY study");
  if (!s) return "?";
  s->bind(1, run);
  std::string out;
  while (true) {
    auto has = s->step();
    if (!has || !*has) break;
    out += s->column_text(0) + ";";
  }
  return out;
}

TEST(NightCache, AnUnchangedNightInsideTheTtlSendsNoJobAndPromotesTheSameModels) {
  auto bus = testing::make_test_bus(night_yaml(0.0));
  auto first = run_night(bus, "first");
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials WHERE run = 'first' AND cache_hit = 0"), 8);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM result_cache"), 8);
  const std::string promoted_first = promoted(bus, "first");
  EXPECT_NE(promoted_first.find("AAA.1d.h1.logreg_l2"), std::string::npos) << promoted_first;

  auto second = run_night(bus, "second");
  ASSERT_EQ(second.exit_code, 0) << second.describe();
  // No worker saw a job of the second run: workers announce every job they
  // start (job.started.<run>), and the persister keeps those events.
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM events WHERE topic = 'job.started.second'"), 0);
  EXPECT_GT(query(bus, "SELECT COUNT(*) FROM events WHERE topic = 'job.started.first'"), 0);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials WHERE run = 'second' AND cache_hit = 1"), 8);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials WHERE run = 'second' AND worker = 'cache'"), 8);
  // The same metrics row for row, and the same promoted models.
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials a JOIN trials b ON a.study = b.study AND "
                       "a.trial = b.trial WHERE a.run = 'first' AND b.run = 'second' AND "
                       "a.metrics = b.metrics AND a.params = b.params"),
            8);
  EXPECT_EQ(promoted(bus, "second"), promoted_first);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM models WHERE run = 'second' AND decision LIKE 'pending%'"), 0);
  auto status = status_json(bus, "second");
  ASSERT_TRUE(status.is_object());
  EXPECT_EQ(status["cache"]["hits"], 8);
  EXPECT_EQ(status["cache"]["misses"], 0);
  EXPECT_DOUBLE_EQ(status["cache"]["hit_rate"].get<double>(), 1.0);
  EXPECT_NE(second.stdout_text.find("result cache: 8 hits, 0 misses (hit rate 100.0%)"), std::string::npos)
      << second.stdout_text;
  // The scheduler's own count of what it sent to workers.
  std::ifstream log(bus.dir + "/logs/second/scheduler.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("jobs sent to workers: 0; result cache: 8 hits, 0 misses"), std::string::npos) << text;

  // A final fit whose artifact is gone is fitted again (and only that one).
  std::string artifact;
  {
    auto store = ResultsStore::open_read_only(bus.config.storage.results_db);
    ASSERT_TRUE(store);
    auto s = store->db().prepare("SELECT artifact_path FROM models WHERE run = 'first' AND study LIKE 'BBB%'");
    ASSERT_TRUE(s);
    ASSERT_TRUE(*s->step());
    artifact = s->column_text(0);
  }
  ASSERT_TRUE(std::filesystem::remove(artifact)) << artifact;
  auto third = run_night(bus, "third");
  ASSERT_EQ(third.exit_code, 0) << third.describe();
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials WHERE run = 'third' AND cache_hit = 0"), 1);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials WHERE run = 'third' AND cache_hit = 0 AND trial = -1 "
                       "AND study LIKE 'BBB%'"),
            1);

  // cache stats / clear.
  auto stats = run_cli({"--config", bus.config_path, "cache", "stats", "--json"}, 20s);
  ASSERT_EQ(stats.exit_code, 0) << stats.describe();
  auto j = nlohmann::json::parse(stats.stdout_text, nullptr, false);
  ASSERT_TRUE(j.is_object()) << stats.stdout_text;
  EXPECT_EQ(j["entries"], 8);
  EXPECT_EQ(j["hits"], 8 + 7);
  EXPECT_EQ(j["misses"], 8 + 1);
  auto text_stats = run_cli({"--config", bus.config_path, "cache", "stats"}, 20s);
  EXPECT_NE(text_stats.stdout_text.find("8 entries"), std::string::npos) << text_stats.stdout_text;
  auto clear = run_cli({"--config", bus.config_path, "cache", "clear"}, 20s);
  EXPECT_EQ(clear.exit_code, 0) << clear.describe();
  EXPECT_NE(clear.stdout_text.find("cleared 8 entries"), std::string::npos) << clear.stdout_text;
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM result_cache"), 0);
}

TEST(NightCache, ChangingOneSymbolsDataInvalidatesExactlyThatSymbolsEntries) {
  auto bus = testing::make_test_bus(night_yaml(0.0));
  ASSERT_EQ(run_night(bus, "before").exit_code, 0);
  // BBB's series is generated anew with another planted signal (a fresh
  // market cache); AAA's comes out the same.
  rewrite_config(bus, night_yaml(0.2));
  std::filesystem::remove(bus.config.storage.market_db);
  auto after = run_night(bus, "after");
  ASSERT_EQ(after.exit_code, 0) << after.describe();
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials WHERE run = 'after' AND study LIKE 'AAA%' AND cache_hit = 1"), 4);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials WHERE run = 'after' AND study LIKE 'BBB%' AND cache_hit = 0"), 4);
  EXPECT_EQ(query(bus, "SELECT COUNT(DISTINCT data_fingerprint) FROM trials WHERE study LIKE 'BBB%'"), 2);
  EXPECT_EQ(query(bus, "SELECT COUNT(DISTINCT data_fingerprint) FROM trials WHERE study LIKE 'AAA%'"), 1);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM events WHERE topic = 'job.started.after' AND "
                       "CAST(body AS TEXT) LIKE '%AAA%'"),
            0);
}

TEST(NightCache, AnExpiredEntryIsRecomputedAndCountedAsExpired) {
  // 0.0003 h = 1.08 s: entries of the first run expire before the second.
  auto bus = testing::make_test_bus(night_yaml(0.0, "cache: {ttl_hours: 0.0003}\n"));
  ASSERT_EQ(run_night(bus, "early").exit_code, 0);
  std::this_thread::sleep_for(1500ms);
  auto late = run_night(bus, "late");
  ASSERT_EQ(late.exit_code, 0) << late.describe();
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials WHERE run = 'late' AND cache_hit = 0"), 8);
  EXPECT_GT(query(bus, "SELECT COUNT(*) FROM events WHERE topic = 'job.started.late'"), 0);
  auto status = status_json(bus, "late");
  ASSERT_TRUE(status.is_object());
  EXPECT_EQ(status["cache"]["hits"], 0);
  EXPECT_EQ(status["cache"]["misses"], 8);
  // The persisters deleted the expired entries between commits (at least
  // the first run's 8), and counted them.
  EXPECT_GE(query(bus, "SELECT SUM(expired) FROM cache_cleanups"), 8);
  auto stats = run_cli({"--config", bus.config_path, "cache", "stats", "--json"}, 20s);
  auto j = nlohmann::json::parse(stats.stdout_text, nullptr, false);
  ASSERT_TRUE(j.is_object()) << stats.describe();
  EXPECT_GE(j["expired"].get<int64_t>(), 8);
}

TEST(NightCache, DisabledCacheNeitherReadsNorWrites) {
  auto bus = testing::make_test_bus(night_yaml(0.0, "cache: {enabled: false}\n"));
  ASSERT_EQ(run_night(bus, "one").exit_code, 0);
  ASSERT_EQ(run_night(bus, "two").exit_code, 0);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM result_cache"), 0);
  EXPECT_EQ(query(bus, "SELECT COUNT(*) FROM trials WHERE cache_hit = 1"), 0);
}

}  // namespace
}  // namespace nightshift
