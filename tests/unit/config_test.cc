#include "config/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "config/config_keys.h"
#include "config/config_reader.h"

namespace nightshift::config {
namespace {

std::string source_dir() {
  const char* dir = std::getenv("NIGHTSHIFT_SOURCE_DIR");
  return dir ? dir : ".";
}

// Key by key over the reader's own walk (config_keys.h), so a key added to
// the reader is compared without this test changing.
TEST(Config, ShippedFileHoldsEveryKeyWithItsBuiltInDefault) {
  const std::string path = source_dir() + "/config/nightshift.yaml";
  auto shipped = load_config(path);
  ASSERT_TRUE(shipped) << shipped.error();
  auto defaults = load_config("");
  ASSERT_TRUE(defaults) << defaults.error();

  std::map<std::string, std::string> built_in;
  for (const auto& key : config_keys(*defaults)) built_in[key.name()] = key.value;
  std::map<std::string, std::string> in_file;
  for (const auto& key : config_keys(*shipped)) in_file[key.name()] = key.value;
  ASSERT_GT(built_in.size(), 100u);  // the walk saw the whole reader
  for (const auto& [key, value] : built_in) {
    EXPECT_EQ(in_file[key], value) << key << ": config/nightshift.yaml differs from the built-in";
  }
  for (const auto& [key, value] : in_file) {
    EXPECT_TRUE(built_in.count(key)) << key << " is in config/nightshift.yaml only";
  }

  // Each key is written in the file, not left to its default: the file is
  // the list of every setting (README). An unset key needs its parent there.
  const YAML::Node root = YAML::LoadFile(path);
  for (const auto& key : config_keys(*defaults)) {
    YAML::Node node = root;
    std::size_t depth = 0;
    for (; depth < key.path.size() && node.IsMap() && node[key.path[depth]]; ++depth) {
      node.reset(node[key.path[depth]]);
    }
    std::size_t wanted = key.value.empty() ? key.path.size() - 1 : key.path.size();
    EXPECT_GE(depth, wanted) << "config/nightshift.yaml lacks " << key.name();
  }
}

TEST(Config, MisspeltKeyNamesFileLineKeyAndSuggestion) {
  auto loaded = load_config_text("symbols: [BTCUSDT]\nnum_worker: 3\n", "night.yaml");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error(),
            "night.yaml:2: num_worker: unknown key 'num_worker' (did you mean 'num_workers'?)");
}

TEST(Config, NestedMisspeltKeyHasItsPath) {
  auto loaded = load_config_text("promote_if:\n  max_briar: 0.3\n", "x.yaml");
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("x.yaml:2: promote_if.max_briar: unknown key 'max_briar' (did you "
                                "mean 'max_brier'?)"),
            std::string::npos)
      << loaded.error();
}

TEST(Config, HistoryPerTimeframeOverridesHistoryDays) {
  auto loaded = load_config_text(
      "fetcher:\n  history_days: 100\n  history_days_by_timeframe: {1m: 29, 1d: 1825}\n", "h.yaml");
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_EQ(loaded->fetcher.history_days_for("1m"), 29);
  EXPECT_EQ(loaded->fetcher.history_days_for("1d"), 1825);
  EXPECT_EQ(loaded->fetcher.history_days_for("1h"), 100);

  auto unknown = load_config_text("fetcher:\n  history_days_by_timeframe: {2h: 10}\n", "u.yaml");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("u.yaml:2: fetcher.history_days_by_timeframe.2h: unknown key '2h'"),
            std::string::npos)
      << unknown.error();
  auto zero = load_config_text("fetcher:\n  history_days_by_timeframe: {1h: 0}\n", "z.yaml");
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().find("fetcher.history_days_by_timeframe.1h"), std::string::npos)
      << zero.error();

  // The shipped file keeps each intraday history inside what Yahoo serves.
  auto shipped = load_config(source_dir() + "/config/nightshift.yaml");
  ASSERT_TRUE(shipped) << shipped.error();
  EXPECT_LT(shipped->fetcher.history_days_for("1m"), 30);
  EXPECT_LT(shipped->fetcher.history_days_for("5m"), 60);
  EXPECT_LT(shipped->fetcher.history_days_for("15m"), 60);
  EXPECT_LT(shipped->fetcher.history_days_for("1h"), 730);
  EXPECT_GE(shipped->fetcher.history_days_for("1d"), 1000);
}

TEST(Config, WrongTypeAndOutOfRangeAreReportedTogether) {
  auto loaded =
      load_config_text("num_workers: many\nmemory_threshold: 1.5\ntimeframes: [2h]\n", "c.yaml");
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("c.yaml:1: num_workers: expected an integer"), std::string::npos);
  EXPECT_NE(loaded.error().find("c.yaml:2: memory_threshold: 1.5 is out of range"),
            std::string::npos);
  EXPECT_NE(loaded.error().find("unknown timeframe '2h'"), std::string::npos);
}

// A config that validates never yields jobs every worker rejects: the
// holdout and fold ranges are the ones the trainer accepts (config.h), and
// the CV scheme is one the wire knows.
TEST(Config, CvRangesAndSchemeAreWhatAJobAccepts) {
  auto loaded = load_config_text("holdout_fraction: 0.9\ncv:\n  scheme: kfold\n", "c.yaml");
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("c.yaml:1: holdout_fraction: 0.9 is out of range"), std::string::npos)
      << loaded.error();
  EXPECT_NE(loaded.error().find("c.yaml:3: cv.scheme"), std::string::npos) << loaded.error();
  auto edges = load_config_text("holdout_fraction: 0.5\nn_splits: 100\ncv:\n  scheme: walk_forward\n"
                                "promote_if:\n  fdr_q: 1\n", "c.yaml");
  ASSERT_TRUE(edges) << edges.error();
  EXPECT_EQ(edges->cv.scheme, "walk_forward");
  EXPECT_DOUBLE_EQ(edges->holdout_fraction, kMaxHoldoutFraction);
  EXPECT_FALSE(load_config_text("promote_if:\n  fdr_q: 0\n", "c.yaml"));
}

TEST(Config, PipelineHighWaterMarkMustLetAMessageThrough) {
  auto loaded = load_config_text("bus:\n  pipeline_hwm: 0\n", "c.yaml");
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("c.yaml:2: bus.pipeline_hwm: 0 is out of range"), std::string::npos)
      << loaded.error();
}

TEST(Config, SyntaxErrorHasLine) {
  auto loaded = load_config_text("symbols: [a, b\nx: 1\n", "s.yaml");
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("s.yaml:"), std::string::npos);
  EXPECT_NE(loaded.error().find("YAML syntax error"), std::string::npos);
}

TEST(Config, MissingFileIsAClearError) {
  auto loaded = load_config("/nonexistent/night.yaml");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error(),
            "/nonexistent/night.yaml: cannot open config file: No such file or directory");
}

// Before, an ifstream opened a directory (or /dev/null) without complaint and
// the run went on with built-in defaults.
TEST(Config, APathThatIsNotARegularFileIsAnErrorNamingIt) {
  std::string dir = ::testing::TempDir() + "config_test_dir";
  std::filesystem::create_directories(dir);
  auto directory = load_config(dir);
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error(), dir + ": is a directory, not a config file");

  auto device = load_config("/dev/null");
  ASSERT_FALSE(device);
  EXPECT_EQ(device.error(), "/dev/null: is a character device, not a config file");

  // Opened without O_NONBLOCK, a FIFO would block the loader until a writer came.
  std::string fifo = dir + "/night.fifo";
  std::filesystem::remove(fifo);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  auto pipe = load_config(fifo);
  ASSERT_FALSE(pipe);
  EXPECT_EQ(pipe.error(), fifo + ": is a FIFO, not a config file");
}

TEST(Config, AFileThatCannotBeReadIsAnErrorNamingIt) {
  // A regular file whose read() fails (EIO: address 0 is not mapped), for any
  // user, root included.
  auto unreadable = load_config("/proc/self/mem");
  ASSERT_FALSE(unreadable);
  EXPECT_EQ(unreadable.error(), "/proc/self/mem: cannot read config file: Input/output error");
}

TEST(Config, AFileWithoutReadPermissionIsAnErrorNamingIt) {
  std::string path = ::testing::TempDir() + "config_test_private.yaml";
  std::ofstream(path) << "num_workers: 2\n";
  std::filesystem::permissions(path, std::filesystem::perms::none);
  const std::string expected = path + ": cannot open config file: Permission denied";
  if (geteuid() != 0) {
    auto denied = load_config(path);
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error(), expected);
    return;
  }
  // Root opens a mode-000 file, so the load runs in a child that has dropped
  // to the unprivileged "nobody" user; its exit code says what it saw.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
    auto denied = load_config(path);
    _exit(denied ? 1 : (denied.error() == expected ? 0 : 2));
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the load succeeded; 2: another message; 3: setuid failed";
}

TEST(Config, EnvironmentOverridesApplyAndAreValidated) {
  setenv("NIGHTSHIFT_WORKERS", "7", 1);
  setenv("NIGHTSHIFT_DASHBOARD_PORT", "8080", 1);
  auto loaded = load_config_text("num_workers: 2\n", "e.yaml");
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_EQ(loaded->num_workers, 7);
  EXPECT_EQ(loaded->dashboard.port, 8080);

  setenv("NIGHTSHIFT_DASHBOARD_PORT", "0", 1);
  auto bad = load_config_text("", "e.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("environment NIGHTSHIFT_DASHBOARD_PORT: dashboard.port"),
            std::string::npos)
      << bad.error();
  unsetenv("NIGHTSHIFT_WORKERS");
  unsetenv("NIGHTSHIFT_DASHBOARD_PORT");
}

TEST(Config, EndpointsMustHaveATransport) {
  auto loaded = load_config_text("bus:\n  events_in: 127.0.0.1:5550\n", "b.yaml");
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("must start with tcp://"), std::string::npos);
}

// The single-host bus is private by default: ipc sockets in one folder beside
// the default results database (the binder makes it 0700), none on TCP.
TEST(Config, DefaultBusIsIpcInAFolderBesideTheResultsDatabase) {
  Config defaults;
  const std::string folder =
      (std::filesystem::path(defaults.storage.results_db).parent_path() / "bus").string();
  for (const std::string* endpoint :
       {&defaults.bus.events_in, &defaults.bus.events_out, &defaults.bus.jobs_in,
        &defaults.bus.jobs_out, &defaults.bus.results_in, &defaults.bus.results_out,
        &defaults.bus.control, &defaults.fetcher.dataset_endpoint}) {
    ASSERT_EQ(endpoint->rfind("ipc://", 0), 0u) << *endpoint;
    EXPECT_EQ(std::filesystem::path(endpoint->substr(6)).parent_path().string(), folder)
        << *endpoint;
  }
}

TEST(Config, AnIpcPathTooLongForASocketIsAnErrorNamingIt) {
  const std::string path = "/tmp/" + std::string(103, 'x');  // 108 bytes: one too many
  auto loaded = load_config_text("bus:\n  control: ipc://" + path + "\n", "b.yaml");
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("b.yaml:2: bus.control: endpoint 'ipc://" + path +
                                "': the path is 108 bytes, longer than an ipc socket allows (107)"),
            std::string::npos)
      << loaded.error();
  EXPECT_TRUE(load_config_text("bus:\n  control: ipc://" + path.substr(1) + "\n", "b.yaml"))
      << "107 bytes fit";
}

TEST(Config, AnEntryListedTwiceIsRejectedWithItsLine) {
  auto loaded = load_config_text("symbols: [AAA, BBB]\nhorizons:\n  - 1\n  - 3\n  - 1\n", "d.yaml");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error(), "d.yaml:3: horizons: '1' is listed twice");
  loaded = load_config_text("timeframes: [1h, 4h, 1h]\nsymbols: [A, A]\n", "d.yaml");
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("d.yaml:1: timeframes: '1h' is listed twice"), std::string::npos);
  EXPECT_NE(loaded.error().find("d.yaml:2: symbols: 'A' is listed twice"), std::string::npos);
}

TEST(Config, EditDistance) {
  EXPECT_EQ(edit_distance("num_worker", "num_workers"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

}  // namespace
}  // namespace nightshift::config

namespace nightshift::config {
namespace {

TEST(ConfigSearch, UnknownModelInModelsNamesFileLineAndSuggestion) {
  auto loaded = load_config_text("models:\n  - logreg_l2\n  - logreg_l3\n", "m.yaml");
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("m.yaml:3: models: unknown model 'logreg_l3' (did you mean "
                                "'logreg_l2'? known: "),
            std::string::npos)
      << loaded.error();
}

TEST(ConfigSearch, UnknownModelAndParameterInSearchAreErrors) {
  auto model = load_config_text("search:\n  logreg_l22:\n    C: {low: 0.1, high: 1}\n", "s.yaml");
  ASSERT_FALSE(model);
  EXPECT_NE(model.error().find("s.yaml:2: search.logreg_l22: unknown model 'logreg_l22' (did you "
                               "mean 'logreg_l2'?"),
            std::string::npos)
      << model.error();
  auto param = load_config_text("search:\n  logreg_enet:\n    l1_ratoi: {low: 0, high: 1}\n", "p.yaml");
  ASSERT_FALSE(param);
  EXPECT_NE(param.error().find("p.yaml:3: search.logreg_enet.l1_ratoi: unknown parameter "
                               "'l1_ratoi' (did you mean 'l1_ratio'?"),
            std::string::npos)
      << param.error();
  // l1_ratio belongs to logreg_enet only.
  EXPECT_FALSE(load_config_text("search:\n  logreg_l2:\n    l1_ratio: {low: 0, high: 1}\n", "q.yaml"));
}

TEST(ConfigSearch, RangesAreChecked) {
  auto log_at_zero = load_config_text("search:\n  logreg_l2:\n    C: {low: 0, high: 1, log: true}\n", "r.yaml");
  ASSERT_FALSE(log_at_zero);
  EXPECT_NE(log_at_zero.error().find("r.yaml:3: search.logreg_l2.C: a log-scaled range needs low > 0"),
            std::string::npos)
      << log_at_zero.error();
  EXPECT_FALSE(load_config_text("search:\n  logreg_l2:\n    C: {low: 2, high: 1}\n", "r.yaml"));
  EXPECT_FALSE(load_config_text("search:\n  logreg_l2:\n    C: {type: categorical, values: []}\n", "r.yaml"));
  auto ok = load_config_text(
      "search:\n  logreg_enet:\n    l1_ratio: {type: categorical, values: [0, 1]}\n", "ok.yaml");
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(ok->search.at("logreg_enet").at("l1_ratio").values, (std::vector<double>{0, 1}));
  EXPECT_EQ(ok->search.at("logreg_enet").at("C").high, 100);  // the shipped range stays
}

TEST(ConfigSearch, XgbIsAModelWithItsOwnParameters) {
  auto both = load_config_text("models: [logreg_l2, xgb]\n", "x.yaml");
  ASSERT_TRUE(both) << both.error();
  EXPECT_EQ(both->models, (std::vector<std::string>{"logreg_l2", "xgb"}));
  EXPECT_EQ(both->search.at("xgb").at("max_depth").type, "int");
  EXPECT_EQ(both->search.at("xgb").size(), 8u);  // eta ... n_rounds, as shipped
  auto gamma = load_config_text("search:\n  xgb:\n    gama: {low: 0, high: 1}\n", "g.yaml");
  ASSERT_FALSE(gamma);
  EXPECT_NE(gamma.error().find("g.yaml:3: search.xgb.gama: unknown parameter 'gama'"), std::string::npos)
      << gamma.error();
  EXPECT_FALSE(load_config_text("search:\n  xgb:\n    C: {low: 0.1, high: 1}\n", "c.yaml"));
  auto eta = load_config_text("search:\n  xgb:\n    eta: {low: 0.05, high: 0.2, log: true, values: [0.05, 0.1]}\n", "e.yaml");
  ASSERT_TRUE(eta) << eta.error();
  EXPECT_EQ(eta->search.at("xgb").at("eta").high, 0.2);
}

TEST(ConfigScheduler, PrunerIsValidated) {
  auto ok = load_config_text(
      "scheduler:\n  pruner: median\n  pruner_startup_trials: 3\n  pruner_warmup_folds: 2\n", "p.yaml");
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(ok->scheduler.pruner, "median");
  EXPECT_EQ(ok->scheduler.pruner_startup_trials, 3);
  EXPECT_EQ(ok->scheduler.pruner_warmup_folds, 2);
  auto bad = load_config_text("scheduler:\n  pruner: mediam\n", "b.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("b.yaml:2: scheduler.pruner"), std::string::npos) << bad.error();
  EXPECT_FALSE(load_config_text("scheduler:\n  pruner_startup_trials: 0\n", "z.yaml"));
}

}  // namespace
}  // namespace nightshift::config
