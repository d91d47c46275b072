#include "config/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

#include "config/config_reader.h"

namespace nightshift::config {
namespace {

void read_gates(ConfigReader r, PromotionGates& g) {
  r.field("min_auc", g.min_auc, 0, 1);
  r.field("max_brier", g.max_brier, 0, 1);
  r.field("min_acc", g.min_acc, 0, 1);
  r.field("max_auc_p_value", g.max_auc_p_value, 0, 1);
  r.field("fdr_q", g.fdr_q, 0.0001, 1);
  r.finish();
}

void read_cv(ConfigReader r, CvConfig& cv) {
  r.choice("scheme", cv.scheme, {"purged_kfold", "walk_forward"});
  r.finish();
}

void read_dashboard(ConfigReader r, DashboardConfig& d) {
  r.field("enabled", d.enabled);
  r.field("bind", d.bind);
  r.field("port", d.port, 1, 65535);
  r.field("token", d.token);
  r.field("ws_client_buffer_bytes", d.ws_client_buffer_bytes, 4096, int64_t{1} << 30);
  r.field("history_minutes", d.history_minutes, 1, 10'080);
  r.finish();
}

void read_bus(ConfigReader r, BusConfig& b) {
  for (auto [key, target] : {std::pair{"events_in", &b.events_in},
                             {"events_out", &b.events_out},
                             {"jobs_in", &b.jobs_in},
                             {"jobs_out", &b.jobs_out},
                             {"results_in", &b.results_in},
                             {"results_out", &b.results_out},
                             {"control", &b.control}}) {
    r.endpoint(key, *target);
  }
  r.field("max_message_bytes", b.max_message_bytes, 1024, int64_t{1} << 31);
  r.field("heartbeat_ivl_ms", b.heartbeat_ivl_ms, 0, 600'000);
  r.field("heartbeat_timeout_ms", b.heartbeat_timeout_ms, 0, 600'000);
  r.field("heartbeat_ttl_ms", b.heartbeat_ttl_ms, 0, 6'553'500);
  r.field("linger_ms", b.linger_ms, 0, 60'000);
  r.field("send_hwm", b.send_hwm, 0, 100'000'000);
  r.field("recv_hwm", b.recv_hwm, 0, 100'000'000);
  r.field("pipeline_hwm", b.pipeline_hwm, 1, 100'000'000);
  r.finish();
}

void read_security(ConfigReader r, SecurityConfig& s) {
  r.field("curve", s.curve);
  r.field("insecure", s.insecure);
  r.field("keys_dir", s.keys_dir);
  r.field("secret_key_file", s.secret_key_file);
  r.field("server_key_file", s.server_key_file);
  r.field("authorized_keys_dir", s.authorized_keys_dir);
  r.finish();
}

void read_storage(ConfigReader r, StorageConfig& s) {
  r.field("results_db", s.results_db);
  r.field("market_db", s.market_db);
  r.field("artifacts_dir", s.artifacts_dir);
  r.field("backups_dir", s.backups_dir);
  r.field("checkpoints_dir", s.checkpoints_dir);
  r.field("telemetry_retention_days", s.telemetry_retention_days, 0, 36'500);
  r.field("events_retention_days", s.events_retention_days, 0, 36'500);
  r.field("backup_interval_hours", s.backup_interval_hours, 0.0, 8760.0);
  r.field("backups_keep", s.backups_keep, 1, 10'000);
  r.finish();
}

void read_cache(ConfigReader r, CacheConfig& c) {
  r.field("enabled", c.enabled);
  r.field("ttl_hours", c.ttl_hours, 0.0001, 87'600.0);
  r.field("max_entries", c.max_entries, int64_t{1}, int64_t{1'000'000'000});
  r.finish();
}

void read_replay(ConfigReader r, ReplayConfig& c) {
  r.endpoint("control", c.control);
  r.finish();
}

void read_logging(ConfigReader r, LoggingConfig& l) {
  r.choice("level", l.level, {"trace", "debug", "info", "warn", "error", "critical", "off"});
  r.field("file", l.file);
  r.field("max_file_mb", l.max_file_mb, 1, 10'000);
  r.field("max_files", l.max_files, 1, 1000);
  r.finish();
}

void read_scheduler(ConfigReader r, SchedulerConfig& s) {
  r.field("max_attempts", s.max_attempts, 1, 100);
  r.field("lease_s", s.lease_s, 1, 86'400);
  r.field("checkpoint_interval_s", s.checkpoint_interval_s, 1, 86'400);
  r.field("grace_s", s.grace_s, 0, 86'400);
  r.field("job_timeout_s", s.job_timeout_s, 1, 604'800);
  r.field("trials_per_study", s.trials_per_study, 1, 100'000);
  r.field("study_timeout_s", s.study_timeout_s, 0, 604'800);
  if (r.field("deadline", s.deadline) && !s.deadline.empty()) {
    const std::string& d = s.deadline;
    bool ok = d.size() == 5 && d[2] == ':' && std::isdigit(static_cast<unsigned char>(d[0])) &&
              std::isdigit(static_cast<unsigned char>(d[1])) &&
              std::isdigit(static_cast<unsigned char>(d[3])) &&
              std::isdigit(static_cast<unsigned char>(d[4])) && std::stoi(d.substr(0, 2)) < 24 &&
              std::stoi(d.substr(3, 2)) < 60;
    if (!ok) r.error("deadline", "'" + d + "' is not a local time HH:MM (e.g. 06:00)");
  }
  r.choice("sampler", s.sampler, {"random", "grid", "tpe"});
  ConfigReader tpe = r.section("tpe");
  tpe.field("n_startup_trials", s.tpe.n_startup_trials, 0, 100'000);
  tpe.field("gamma", s.tpe.gamma, 0.01, 0.99);
  tpe.field("n_candidates", s.tpe.n_candidates, 1, 10'000);
  tpe.field("seed", s.tpe.seed, 0, INT64_MAX);
  tpe.finish();
  r.choice("pruner", s.pruner, {"none", "median"});
  r.field("pruner_startup_trials", s.pruner_startup_trials, 1, 100'000);
  r.field("pruner_warmup_folds", s.pruner_warmup_folds, 0, 99);
  r.field("symbol_failure_limit", s.symbol_failure_limit, 1, 1'000'000);
  r.finish();
}

// A study is (symbol, timeframe, horizon, model); an entry listed twice would
// plan the same jobs twice under one key, and that run could never finish.
template <typename T>
void reject_duplicates(ConfigReader& r, const char* key, const std::vector<T>& items) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (items[i] != items[j]) continue;
      std::ostringstream item;
      item << items[i];
      r.error(key, "'" + item.str() + "' is listed twice");
      return;
    }
  }
}

}  // namespace

std::string gates_identity(const PromotionGates& g) {
  return fmt::format("min_auc={:.17g} max_brier={:.17g} min_acc={:.17g} max_auc_p_value={:.17g}",
                     g.min_auc, g.max_brier, g.min_acc, g.max_auc_p_value);
}

void read_section(ConfigReader& r, Config& c) {
  r.list("symbols", c.symbols, true);
  std::vector<std::string> known;
  for (const auto& [name, minutes] : known_timeframes()) known.push_back(name);
  r.list("timeframes", c.timeframes, known, "timeframe", true);
  r.list("horizons", c.horizons, 1, 10'000, true);
  r.list("models", c.models, model_names(), "model", true);
  reject_duplicates(r, "symbols", c.symbols);
  reject_duplicates(r, "timeframes", c.timeframes);
  reject_duplicates(r, "horizons", c.horizons);
  reject_duplicates(r, "models", c.models);
  r.field("num_workers", c.num_workers, 0, 1024);
  r.field("max_memory_per_process", c.max_memory_per_process, 0.05, 4096);
  r.field("memory_threshold", c.memory_threshold, 0.1, 1.0);
  r.field("n_splits", c.n_splits, kMinSplits, kMaxSplits);
  r.field("embargo_minutes", c.embargo_minutes, 0, 1'000'000);
  r.field("holdout_fraction", c.holdout_fraction, kMinHoldoutFraction, kMaxHoldoutFraction);
  read_cv(r.section("cv"), c.cv);
  read_gates(r.section("promote_if"), c.promote_if);
  read_search(r, c.search);
  read_dashboard(r.section("dashboard"), c.dashboard);
  read_bus(r.section("bus"), c.bus);
  read_security(r.section("security"), c.security);
  read_storage(r.section("storage"), c.storage);
  read_logging(r.section("logging"), c.logging);
  read_scheduler(r.section("scheduler"), c.scheduler);
  read_cache(r.section("cache"), c.cache);
  ConfigReader telemetry = r.section("telemetry");
  read_section(telemetry, c.telemetry);
  ConfigReader fetcher = r.section("fetcher");
  read_section(fetcher, c.fetcher);
  read_replay(r.section("replay"), c.replay);
  r.finish();
}

namespace {

// Sets root[a][b]... = value, creating maps on the way.
void set_path(YAML::Node root, const std::string& path, const std::string& value) {
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string part; std::getline(ss, part, '.');) parts.push_back(part);
  std::vector<YAML::Node> chain{root};
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = chain.back()[parts[i]];
    if (!next.IsMap()) next = YAML::Node(YAML::NodeType::Map);
    chain.back()[parts[i]] = next;
    chain.push_back(chain.back()[parts[i]]);
  }
  chain.back()[parts.back()] = value;
}

Result<Config> load_node(YAML::Node root, const std::string& name) {
  Diagnostics diag;
  diag.file = name.empty() ? std::string("(defaults)") : name;
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) return make_error(diag.file + ": expected a mapping at the top level");
  for (const auto& o : env_overrides()) {
    const char* value = std::getenv(o.variable);
    if (value == nullptr || *value == '\0') continue;
    set_path(root, o.key_path, value);
    diag.origin[o.key_path] = o.variable;
  }
  Config config;
  config.source_file = name;
  ConfigReader reader(root, {}, diag);
  read_section(reader, config);
  if (!diag.errors.empty()) {
    std::string message;
    for (const auto& e : diag.errors) message += (message.empty() ? "" : "\n") + e;
    return make_error(message);
  }
  return config;
}

}  // namespace

const std::vector<EnvOverride>& env_overrides() {
  static const std::vector<EnvOverride> overrides = {
      {"NIGHTSHIFT_WORKERS", "num_workers", "number of trainer workers"},
      {"NIGHTSHIFT_DASHBOARD_PORT", "dashboard.port", "dashboard HTTP port"},
      {"NIGHTSHIFT_DASHBOARD_TOKEN", "dashboard.token", "dashboard bearer token"},
      {"NIGHTSHIFT_LOG_LEVEL", "logging.level", "log level"},
      {"NIGHTSHIFT_LOG_FILE", "logging.file", "rotating log file path"},
      {"NIGHTSHIFT_RESULTS_DB", "storage.results_db", "results database path"},
      {"NIGHTSHIFT_MARKET_DB", "storage.market_db", "market cache path"},
      {"NIGHTSHIFT_ARTIFACTS_DIR", "storage.artifacts_dir", "model artifacts folder"},
      {"NIGHTSHIFT_MAX_MEMORY_GB", "max_memory_per_process", "memory cap per worker (GB)"},
      {"NIGHTSHIFT_TELEMETRY_INTERVAL_MS", "telemetry.interval_ms", "telemetry interval"},
      {"NIGHTSHIFT_DATA_SOURCE", "fetcher.source", "market data source"},
      {"NIGHTSHIFT_EVENTS_IN", "bus.events_in", "broker endpoint publishers connect to"},
      {"NIGHTSHIFT_EVENTS_OUT", "bus.events_out", "broker endpoint subscribers connect to"},
      {"NIGHTSHIFT_JOBS_IN", "bus.jobs_in", "broker endpoint the scheduler pushes to"},
      {"NIGHTSHIFT_JOBS_OUT", "bus.jobs_out", "broker endpoint workers pull from"},
      {"NIGHTSHIFT_RESULTS_IN", "bus.results_in", "broker endpoint workers push to"},
      {"NIGHTSHIFT_RESULTS_OUT", "bus.results_out", "broker endpoint the persister pulls from"},
      {"NIGHTSHIFT_CONTROL", "bus.control", "broker control/stats endpoint"},
      {"NIGHTSHIFT_CURVE", "security.curve", "CURVE + ZAP on every bound endpoint (true/false)"},
      {"NIGHTSHIFT_SECRET_KEY", "security.secret_key_file", "this process's CURVE key pair"},
      {"NIGHTSHIFT_SERVER_KEY", "security.server_key_file", "the head's CURVE public key"},
      {"NIGHTSHIFT_DATASET_CACHE", "fetcher.host_cache_dir", "host-local dataset cache folder"},
      {"NIGHTSHIFT_DATASET_ENDPOINT", "fetcher.dataset_endpoint", "fetcher dataset service"},
  };
  return overrides;
}

const std::vector<std::pair<std::string, int>>& known_timeframes() {
  static const std::vector<std::pair<std::string, int>> tfs = {
      {"1m", 1},   {"5m", 5},    {"15m", 15},   {"30m", 30},
      {"1h", 60},  {"4h", 240},  {"1d", 1440},  {"1w", 10080},
  };
  return tfs;
}

int timeframe_minutes(const std::string& tf) {
  for (const auto& [name, minutes] : known_timeframes()) {
    if (name == tf) return minutes;
  }
  return 0;
}

Result<Config> load_config_text(const std::string& text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return make_error(name + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " +
                      e.msg);
  }
  return load_node(root, name);
}

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

Result<std::string> read_config_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  // The kind is checked on the open descriptor, so it is the file we read.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return make_error(path + ": cannot open config file: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    std::string kind = S_ISREG(st.st_mode) ? "cannot be examined" : kind_of(st.st_mode);
    ::close(fd);
    return make_error(path + ": is " + kind + ", not a config file");
  }
  std::string text;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      ::close(fd);
      return make_error(path + ": cannot read config file: " + std::strerror(error));
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

Result<Config> load_config(const std::string& path) {
  if (path.empty()) return load_node(YAML::Node(), "");
  auto text = read_config_file(path);
  if (!text) return Error{text.error()};
  return load_config_text(*text, path);
}

}  // namespace nightshift::config
