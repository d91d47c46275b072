// nightshift configuration: the night-run defaults users already know, plus
// bus endpoints, storage paths, logging and per-stage sections.
//
// load_config() reads YAML, applies NIGHTSHIFT_* environment overrides, and
// validates everything; every problem names the file, the line and the key.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/log_settings.h"
#include "config/fetcher_config.h"
#include "config/search_space.h"
#include "config/telemetry_config.h"
#include "schema/result.h"

namespace nightshift::config {

struct PromotionGates {
  double min_auc = 0.52;
  double max_brier = 0.26;
  double min_acc = 0.50;
  // One-sided p-value of the holdout AUC under "no skill", calibrated for
  // overlapping labels (trainer/metrics.h): a per-study cap.
  double max_auc_p_value = 0.05;
  // False discovery rate over the run: a study is promoted when it passes
  // the gates above and its Benjamini-Hochberg q-value over every tested
  // study of the run is at most this (decided when the run completes).
  double fdr_q = 0.05;
};

// The gates a worker judges a final fit by, as text: part of a final fit's
// result cache key, so changed thresholds never reuse an old verdict.
std::string gates_identity(const PromotionGates& gates);

// The ranges a job accepts, shared by the config reader and the trainer, so
// a config that validates never yields jobs every worker rejects.
inline constexpr int kMinSplits = 2, kMaxSplits = 100;
inline constexpr double kMinHoldoutFraction = 0.01, kMaxHoldoutFraction = 0.5;

struct CvConfig {
  // purged_kfold (default): every fold trains on both sides of its test
  // fold, purged of overlapping labels, with embargo_minutes dropped after
  // it; walk_forward: trains only on rows before the test fold, with
  // embargo_minutes as a gap before it. See docs/trainer.md.
  std::string scheme = "purged_kfold";
};

struct DashboardConfig {
  bool enabled = true;
  std::string bind = "127.0.0.1";
  int port = 5000;
  // Required for a bind address other than loopback: every request must then
  // carry "Authorization: Bearer TOKEN" (or ?token=TOKEN).
  std::string token;
  // What the gateway queues for one WebSocket client before it drops it.
  int64_t ws_client_buffer_bytes = 1 << 20;
  int history_minutes = 60;  // longest /gpu/history?minutes= served
};

// Only the broker binds these; every other stage connects. The defaults are
// ipc sockets in a private (0700) folder beside the default results database.
struct BusConfig {
  std::string events_in = "ipc://var/bus/events_in";     // publishers connect (broker XSUB)
  std::string events_out = "ipc://var/bus/events_out";   // subscribers connect (broker XPUB)
  std::string jobs_in = "ipc://var/bus/jobs_in";         // scheduler PUSH connects
  std::string jobs_out = "ipc://var/bus/jobs_out";       // workers PULL connect
  std::string results_in = "ipc://var/bus/results_in";   // workers PUSH connect
  std::string results_out = "ipc://var/bus/results_out"; // persister PULL connects
  std::string control = "ipc://var/bus/control";         // broker stats/ping (REQ -> ROUTER)
  int64_t max_message_bytes = 16 << 20;
  int heartbeat_ivl_ms = 1000;
  int heartbeat_timeout_ms = 5000;
  int heartbeat_ttl_ms = 10000;
  int linger_ms = 500;
  // Pub/sub high-water marks: at its mark a publisher drops, so they are big.
  int send_hwm = 100'000;
  int recv_hwm = 100'000;
  // Jobs and results pipelines (PUSH/PULL): at its mark a sender waits, so a
  // backlog (a persister restarting, a flood of results) waits upstream in a
  // bounded queue whose memory is reused rather than growing the heap.
  int pipeline_hwm = 1000;
  // Not read from YAML: what bus::load_security (broker/curve_keys.h) derives
  // from the `security` section, carried here because every socket needs it.
  struct Curve {
    bool enabled = false;
    std::string public_key;   // Z85, this process's
    std::string secret_key;   // Z85, this process's
    std::string server_key;   // Z85, the binders' (broker, dataset service) public key
    std::string authorized_keys_dir;  // binders: whom the ZAP handler admits
  } curve;
};

// Who may reach the bus (docs/architecture.md, "Who can reach the bus").
struct SecurityConfig {
  bool curve = false;     // CURVE encryption + ZAP key check on every bound endpoint
  bool insecure = false;  // accept tcp endpoints reachable from other hosts without CURVE
  std::string keys_dir = "var/keys";                            // `keys generate` writes here
  std::string secret_key_file = "var/keys/head.key_secret";     // this process's key pair
  std::string server_key_file = "var/keys/head.key";            // the head's public key
  std::string authorized_keys_dir = "var/keys/authorized";      // public keys the head admits
};

struct StorageConfig {
  std::string results_db = "var/nightshift.db";
  std::string market_db = "var/market.db";
  std::string artifacts_dir = "var/models";
  std::string backups_dir = "var/backups";
  std::string checkpoints_dir = "var/checkpoints";
  int telemetry_retention_days = 7;
  int events_retention_days = 30;  // the raw event log (replay's source); 0: keep all
  // Online backups of the results database into backups_dir (the persister,
  // every backup_interval_hours, and `run` at its end); 0: only at the end.
  double backup_interval_hours = 6;
  int backups_keep = 7;  // the newest N backup files are kept, older ones deleted
};

// The result cache across runs (docs/cache.md): a job whose result is stored
// under the same key (data fingerprint, features, horizon, model, params,
// CV plan, gates, build) is answered from the results database.
struct CacheConfig {
  bool enabled = true;
  double ttl_hours = 24;         // an entry is used for this long after it was computed
  int64_t max_entries = 100'000; // the least recently used beyond this are evicted
};

// The replay stage (stages/replay): where its control endpoint binds. For an
// ipc:// endpoint each replay binds "<endpoint>-<run>", so replays of
// different runs can be steered at once; a tcp:// endpoint is used as given.
struct ReplayConfig {
  std::string control = "ipc://var/bus/replay";
};

using LoggingConfig = ::nightshift::LogSettings;

// The TPE sampler (stages/scheduler/tpe_sampler.h).
struct TpeConfig {
  int n_startup_trials = 10;  // random trials of a study before TPE takes over
  double gamma = 0.1;         // share of finished trials that count as good
  int n_candidates = 24;      // draws from the good trials' density per suggestion
  int64_t seed = 0;           // with the study name and trial number, seeds every draw
};

struct SchedulerConfig {
  int max_attempts = 3;
  int lease_s = 600;
  int checkpoint_interval_s = 30;
  int grace_s = 30;
  int job_timeout_s = 500;  // a worker kills itself when one job runs longer (keep < lease_s)
  int trials_per_study = 1;
  int study_timeout_s = 0;  // 0: none; after it a study sends no new trials
  std::string deadline;     // "HH:MM" local; after it no new trials (finals still run); "": none
  std::string sampler = "random";  // random, grid, tpe
  TpeConfig tpe;
  // The median pruner (stages/scheduler/pruner.h): none or median.
  std::string pruner = "none";
  int pruner_startup_trials = 5;  // completed trials of a study before it prunes (at least 1)
  int pruner_warmup_folds = 1;    // folds every trial runs before it can be pruned
  int symbol_failure_limit = 5;    // failures before a symbol is skipped for the run
};

struct Config {
  // Night-training defaults (top-level keys, as users know them).
  std::vector<std::string> symbols = {"BTCUSDT", "ETHUSDT", "ADAUSDT",
                                      "SOLUSDT", "DOGEUSDT", "XRPUSDT"};
  std::vector<std::string> timeframes = {"1m", "5m", "15m", "1h", "4h", "1d"};
  std::vector<int> horizons = {1, 3, 5};
  std::vector<std::string> models = {"logreg_l2"};
  int num_workers = 0;  // 0: one per core, less one (at least 1); see `nightshift run`
  double max_memory_per_process = 2.0;  // GB, hard cap per worker
  double memory_threshold = 0.85;       // fraction of the cap: restart between jobs
  int n_splits = 5;
  int embargo_minutes = 30;
  double holdout_fraction = 0.2;
  CvConfig cv;
  PromotionGates promote_if;
  // Per model: the hyperparameters its studies tune (config/search_space.h).
  std::map<std::string, ModelSpace> search = default_search_spaces();
  DashboardConfig dashboard;

  BusConfig bus;
  SecurityConfig security;
  StorageConfig storage;
  LoggingConfig logging;
  SchedulerConfig scheduler;
  CacheConfig cache;
  TelemetryConfig telemetry;
  FetcherConfig fetcher;
  ReplayConfig replay;

  std::string source_file;  // where it was loaded from; empty for built-in defaults
};

class ConfigReader;
// Reads every key of the file (config_reader.h); load_config() calls it.
void read_section(ConfigReader& reader, Config& out);

// Environment overrides: variable -> key path. Applied before validation.
struct EnvOverride {
  const char* variable;
  const char* key_path;
  const char* description;
};
const std::vector<EnvOverride>& env_overrides();

// Loads and validates a YAML file. An empty path means built-in defaults
// (still subject to environment overrides).
Result<Config> load_config(const std::string& path);

// The text of a config file. A path that is not a regular file (a directory,
// a device, a FIFO) or cannot be read is an error of one line naming it.
Result<std::string> read_config_file(const std::string& path);

// Loads YAML text (for tests); `name` is used in error messages.
Result<Config> load_config_text(const std::string& text, const std::string& name);

// Valid timeframes and their length in minutes (1m .. 1w).
const std::vector<std::pair<std::string, int>>& known_timeframes();
int timeframe_minutes(const std::string& tf);  // 0 if unknown

}  // namespace nightshift::config
