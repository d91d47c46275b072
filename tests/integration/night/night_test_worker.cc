// A small worker for testing the exactly-once machinery against the real
// broker, persister and scheduler: it pulls jobs, announces one slot in
// heartbeats (busy from a job's start to its result, as the real worker
// does) and answers with deterministic results (AUC derived from the
// study name), after --sleep-ms. Jobs of --fail-study always fail. Jobs of
// --hang-study never end (heartbeats go on): the real JobWatchdog ends the
// process after scheduler.job_timeout_s. With --fetch every job first gets
// its dataset from the fetcher's service through the real DatasetClient.
// With --objective quadratic a trial's AUC is a known smooth function of its
// hyperparameters (peak 0.8 at log10(C) = 0.5, l1_ratio = 0.3), the trivial
// objective bench/hpo_vs_optuna gives both nightshift and Optuna.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "broker/bus.h"
#include "broker/dataset_client.h"
#include "stages/trainer/job_watchdog.h"
#include "schema/topics.h"
#include "base/process.h"

namespace ns = nightshift;

namespace {

struct Options {
  std::string config_path;
  std::string id = "1";
  std::string fail_study;
  std::string hang_study;
  bool fetch = false;
  int sleep_ms = 20;
  std::string objective = "study";  // study: AUC from the study's name; quadratic: from params
  std::string log_file;  // one line "study/trial attempt" per job handled
};

double planted_auc(const std::string& study) {
  uint64_t hash = 1469598103934665603ULL;
  for (char c : study) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return 0.48 + static_cast<double>(hash % 100) / 1000.0;  // 0.480 .. 0.579
}

// A final fit's artifact: a real file in the artifacts folder, since the
// persister stores no model whose artifact is missing or outside it.
std::string write_artifact(const std::string& artifacts_dir, const ns::Job& job) {
  std::filesystem::path folder = std::filesystem::path(artifacts_dir) / job.key.run;
  std::filesystem::create_directories(folder);
  std::filesystem::path path = folder / (job.key.study + ".bin");
  std::ofstream(path) << "test model of " << job.key.study << "\n";
  return path.string();
}

double param(const ns::Job& job, const char* name, double fallback) {
  auto it = job.params.find(name);
  return it == job.params.end() ? fallback : it->second;
}

// Also the formula of bench/hpo_vs_optuna.py's Optuna objective.
double quadratic_auc(const ns::Job& job) {
  double c = std::log10(std::max(param(job, "C", 1.0), 1e-12)) - 0.5;
  double l1 = param(job, "l1_ratio", 0.5) - 0.3;
  return 0.5 + 0.3 * std::exp(-(c * c + l1 * l1 / 0.25));
}

ns::JobResult answer(const ns::Job& job, const Options& options, const std::string& artifacts_dir) {
  ns::JobResult r;
  r.key = job.key;
  r.attempt = job.attempt;
  r.dispatch_token = job.dispatch_token;
  r.worker = ns::host_name() + "/" + options.id;
  r.params = job.params;
  if (!options.fail_study.empty() && job.key.study == options.fail_study) {
    r.status = nightshift::ResultStatus::failed;
    r.reason = "planted failure for " + job.key.study;
    return r;
  }
  r.status = nightshift::ResultStatus::ok;
  double auc = options.objective == "quadratic"
                   ? quadratic_auc(job)
                   : planted_auc(job.key.study) + (job.key.trial > 0 ? 0.001 * job.key.trial : 0);
  r.metrics = {{"auc", auc}, {"brier", 0.25}, {"accuracy", auc}};
  r.wall_s = options.sleep_ms / 1000.0;
  r.cpu_s = r.wall_s;
  if (job.kind == nightshift::JobKind::final_fit) {
    bool pass = auc >= 0.52;
    r.promoted = pass;
    r.metrics["auc_p_value"] = pass ? 0.001 : 0.5;
    r.gates = {{"min_auc", pass ? "pass" : "fail: auc below 0.52"}};
    r.artifact_path = write_artifact(artifacts_dir, job);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"night test worker"};
  app.add_option("--config", options.config_path)->required();
  app.add_option("--id", options.id);
  app.add_option("--fail-study", options.fail_study);
  app.add_option("--sleep-ms", options.sleep_ms);
  app.add_option("--objective", options.objective)->check(CLI::IsMember({"study", "quadratic"}));
  app.add_option("--log-file", options.log_file);
  app.add_option("--hang-study", options.hang_study);
  app.add_flag("--fetch", options.fetch);
  CLI11_PARSE(app, argc, argv);
  auto config = ns::config::load_config(options.config_path);
  if (!config) {
    std::cerr << config.error() << "\n";
    return 2;
  }
  ns::install_stop_signals();
  zmq::context_t context(1);
  auto self = ns::bus::self_source("test-worker");
  auto jobs = ns::bus::JobReceiver::connect(context, config->bus);
  auto results = ns::bus::ResultSender::connect(context, config->bus, self);
  auto publisher = ns::bus::Publisher::connect(context, config->bus, self);
  if (!jobs || !results || !publisher) return 1;
  ns::Heartbeat heartbeat;
  heartbeat.host = ns::host_name();
  heartbeat.worker_id = options.id;
  auto next_beat = std::chrono::steady_clock::now();
  auto beat = [&](bool now = false) {
    if (!now && std::chrono::steady_clock::now() < next_beat) return;
    publisher->publish(ns::topics::worker_heartbeat(heartbeat.host, options.id), heartbeat);
    next_beat = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  };
  const std::string name = ns::host_name() + "/" + options.id;
  ns::trainer::JobWatchdog watchdog(
      std::chrono::seconds(config->scheduler.job_timeout_s),
      [&](const ns::Job& job, const std::string& reason) {
        ns::trainer::report_timeout(*config, name, job, reason);
      });
  ns::DatasetClient datasets(context, *config, self);
  while (!ns::stop_requested()) {
    beat();
    auto job = jobs->receive(std::chrono::milliseconds(50));
    if (!job) continue;
    watchdog.arm(job->payload);
    heartbeat.slots_free = 0;  // as the real worker does: busy at once, free at once
    heartbeat.current_job = job->payload.key;
    beat(true);
    if (options.fetch) {
      ns::DatasetRequest request;
      request.source = config->fetcher.source;
      request.symbol = job->payload.symbol;
      request.timeframe = job->payload.timeframe;
      request.start_ts = job->payload.start_ts;
      request.end_ts = job->payload.end_ts;
      if (auto dataset = datasets.request(request); !dataset) {
        std::cerr << "dataset: " << dataset.error() << "\n";
      }
    }
    while (job->payload.key.study == options.hang_study && !ns::stop_requested()) {
      beat();  // stuck, yet alive on the bus: only the watchdog ends this
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(options.sleep_ms));
    ns::JobResult result = answer(job->payload, options, config->storage.artifacts_dir);
    if (!options.log_file.empty()) {
      std::ofstream(options.log_file, std::ios::app)
          << job->payload.key.study << "/" << job->payload.key.trial << " "
          << job->payload.attempt << "\n";
    }
    results->send(result, std::chrono::milliseconds(2000));
    watchdog.disarm();
    ++heartbeat.jobs_done;
    heartbeat.slots_free = 1;
    heartbeat.current_job.reset();
    beat(true);
  }
  return 0;
}
