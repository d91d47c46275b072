// nightshift worker | predict
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "apps/cli_context.h"
#include "broker/bus.h"
#include "broker/dataset_client.h"
#include "base/process.h"
#include "stages/trainer/artifact.h"
#include "stages/trainer/bars_csv.h"
#include "stages/trainer/worker.h"

namespace nightshift::cli {
namespace {

struct WorkerCommandOptions {
  std::string id;
  std::size_t feature_cache_mb = 256;
  uint64_t max_jobs = 0;
  int heartbeat_ms = 1000;
  std::string run;
};

int run_worker_command(const GlobalOptions& global, const WorkerCommandOptions& options) {
  auto config = begin_command("worker", global);
  if (!config) return 2;
  trainer::WorkerOptions worker;
  worker.worker_id = options.id.empty() ? "w" + std::to_string(getpid()) : options.id;
  worker.feature_cache_bytes = options.feature_cache_mb << 20;
  worker.max_jobs = options.max_jobs;
  worker.heartbeat_interval = std::chrono::milliseconds(options.heartbeat_ms);
  worker.run = options.run;
  return trainer::run_worker(*config, worker);
}

struct PredictOptions {
  std::string model_path;
  std::string csv_path;
  std::string symbol;
  std::string source;
  std::size_t last = 1;
};

Result<Bars> bars_for_prediction(const config::Config& config, const PredictOptions& options,
                                 const trainer::Artifact& artifact) {
  if (!options.csv_path.empty()) return trainer::read_bars_csv(options.csv_path);
  zmq::context_t context(1);
  DatasetClient client(context, config, bus::self_source("predict"));
  DatasetRequest request;
  request.source = !options.source.empty() ? options.source : artifact.info.source;
  if (request.source.empty()) request.source = config.fetcher.source;
  request.symbol = options.symbol;
  request.timeframe = artifact.info.timeframe;
  auto dataset = client.request(request);
  if (!dataset) return dataset.take_error();
  return *dataset->bars;
}

int run_predict(const GlobalOptions& global, const PredictOptions& options) {
  auto config = begin_command("predict", global, StopSignals::default_);
  if (!config) return 2;
  auto artifact = trainer::read_artifact(options.model_path);
  if (!artifact) {
    std::cerr << "nightshift predict: " << artifact.error() << "\n";
    return 1;
  }
  auto bars = bars_for_prediction(*config, options, *artifact);
  if (!bars) {
    std::cerr << "nightshift predict: " << bars.error() << "\n";
    return 1;
  }
  auto predictions = trainer::predict_latest(*artifact, *bars, options.last);
  if (!predictions) {
    std::cerr << "nightshift predict: " << predictions.error() << "\n";
    return 1;
  }
  std::cout << "ts,p_up,horizon_bars,timeframe\n";
  for (const auto& p : *predictions) {
    std::printf("%lld,%.6f,%zu,%s\n", static_cast<long long>(p.ts), p.probability,
                artifact->info.horizon, artifact->info.timeframe.c_str());
  }
  return 0;
}

}  // namespace

void add_trainer_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto worker_options = std::make_shared<WorkerCommandOptions>();
  auto* worker = app.add_subcommand(
      "worker", "Run a trainer worker: pull jobs, fetch datasets, run trials and final fits, "
                "push results. Exit 3: a job hit the memory cap; 4: soft memory threshold passed");
  worker->add_option("--id", worker_options->id, "Worker id, unique on this host (default w<pid>)");
  worker->add_option("--feature-cache-mb", worker_options->feature_cache_mb,
                     "Bound of the per-process feature cache in MB")
      ->check(CLI::PositiveNumber);
  worker->add_option("--max-jobs", worker_options->max_jobs, "Exit 0 after N jobs (0: no limit)");
  worker->add_option("--run", worker_options->run,
                     "Run only this run's jobs, refusing any other (the supervisor sets it)");
  worker->add_option("--heartbeat-ms", worker_options->heartbeat_ms, "Heartbeat interval")
      ->check(CLI::Range(50, 60'000));
  worker->callback([&, worker_options] { exit_code = run_worker_command(global, *worker_options); });

  auto predict_options = std::make_shared<PredictOptions>();
  auto* predict = app.add_subcommand(
      "predict", "Score the latest bars with a model artifact; prints ts,p_up lines (CSV)");
  predict->add_option("--model", predict_options->model_path, "Artifact file (from a final fit)")
      ->required()
      ->check(CLI::ExistingFile);
  auto* csv = predict->add_option("--csv", predict_options->csv_path,
                                  "Bars from a CSV file with columns ts,open,high,low,close,volume");
  auto* symbol = predict->add_option("--symbol", predict_options->symbol,
                                     "Bars for SYMBOL from the dataset service (timeframe from the artifact)");
  csv->excludes(symbol);
  predict->add_option("--source", predict_options->source, "Market data source for --symbol");
  predict->add_option("--last", predict_options->last, "How many latest bars to score")
      ->check(CLI::PositiveNumber);
  predict->callback([&, predict_options, csv, symbol] {
    if (csv->count() == 0 && symbol->count() == 0) {
      std::cerr << "nightshift predict: give --csv FILE or --symbol SYMBOL\n";
      exit_code = 2;
      return;
    }
    exit_code = run_predict(global, *predict_options);
  });
}

}  // namespace nightshift::cli
