// nightshift fetcher | fetch | data ls
#include <unistd.h>

#include <filesystem>
#include <iomanip>
#include <iostream>

#include "apps/cli_context.h"
#include "broker/bus.h"
#include "broker/dataset_client.h"
#include "broker/dataset_protocol.h"
#include "base/process.h"
#include "stages/fetcher/fetcher_stage.h"
#include "stages/fetcher/market_data.h"
#include "stages/fetcher/time_text.h"

namespace nightshift::cli {
namespace {

struct FetchOptions {
  std::vector<std::string> symbols;
  std::string timeframe = "1h";
  std::string from, to;
  std::string source;  // empty: config.fetcher.source
  bool via_service = false;
  int repeat = 1;
  bool quiet = false;
};

// A one-line progress bar on stderr, redrawn in place on a terminal.
class ProgressBar {
 public:
  ProgressBar(std::string label, bool enabled) : label_(std::move(label)), enabled_(enabled) {}
  void operator()(double fraction) {
    if (!enabled_) return;
    int filled = static_cast<int>(fraction * 30);
    std::cerr << "\r" << label_ << " [" << std::string(filled, '#')
              << std::string(30 - filled, ' ') << "] " << static_cast<int>(fraction * 100) << "%"
              << std::flush;
  }
  void done() {
    if (enabled_) std::cerr << "\n";
  }

 private:
  std::string label_;
  bool enabled_;
};

Result<DatasetRequest> make_request(const FetchOptions& o, const std::string& symbol,
                                    const config::Config& config) {
  DatasetRequest request;
  request.source = o.source.empty() ? config.fetcher.source : o.source;
  request.symbol = symbol;
  request.timeframe = o.timeframe;
  if (!o.from.empty()) {
    auto t = fetcher::parse_time(o.from);
    if (!t) return make_error("--from: " + t.error());
    request.start_ts = *t;
  }
  if (!o.to.empty()) {
    auto t = fetcher::parse_time(o.to);
    if (!t) return make_error("--to: " + t.error());
    request.end_ts = *t;
  }
  if (config::timeframe_minutes(o.timeframe) == 0) {
    return make_error("--tf: unknown timeframe '" + o.timeframe + "'");
  }
  return request;
}

std::string range_text(const Bars& bars) {
  if (bars.size() == 0) return "-";
  return fetcher::format_time(bars.ts.front()) + ".." + fetcher::format_time(bars.ts.back());
}

int fetch_direct(const config::Config& config, const FetchOptions& o) {
  auto market = fetcher::MarketData::open(config, [](const DataNotice& n) {
    std::cerr << "data." << n.kind << " " << n.source << ": " << n.message << "\n";
  });
  if (!market) {
    std::cerr << "nightshift: " << market.error() << "\n";
    return 1;
  }
  fetcher::DatasetStore& store = (*market)->store();
  int failures = 0;
  for (const auto& symbol : o.symbols) {
    auto request = make_request(o, symbol, config);
    if (!request) {
      std::cerr << "nightshift: " << request.error() << "\n";
      return 2;
    }
    ProgressBar bar(symbol + " " + o.timeframe, !o.quiet && isatty(STDERR_FILENO));
    fetcher::DatasetQuery query{request->source, symbol, o.timeframe, request->start_ts,
                                request->end_ts};
    auto answer = store.get(query, [&](double f) { bar(f); });
    bar.done();
    if (!answer) {
      std::cerr << "nightshift: " << symbol << " " << o.timeframe << ": " << answer.error() << "\n";
      ++failures;
      continue;
    }
    std::cout << symbol << " " << o.timeframe << " source=" << query.source
              << " rows=" << answer->bars.size() << " fetches=" << answer->fetches
              << " stored=" << answer->rows_stored << " synthetic=" << (answer->synthetic ? "yes" : "no")
              << " fingerprint=" << dataset::fingerprint(answer->bars)
              << " range=" << range_text(answer->bars) << "\n";
  }
  return failures == 0 ? 0 : 1;
}

int fetch_via_service(const config::Config& config, const FetchOptions& o) {
  zmq::context_t context(1);
  DatasetClient client(context, config, bus::self_source("fetch"));
  int failures = 0;
  for (int round = 0; round < o.repeat; ++round) {
    for (const auto& symbol : o.symbols) {
      auto request = make_request(o, symbol, config);
      if (!request) {
        std::cerr << "nightshift: " << request.error() << "\n";
        return 2;
      }
      auto dataset = client.request(*request);
      if (!dataset) {
        std::cerr << "nightshift: " << symbol << " " << o.timeframe << ": " << dataset.error() << "\n";
        ++failures;
        continue;
      }
      std::cout << symbol << " " << o.timeframe
                << " status=" << (dataset->from_process_cache ? "unchanged" : "ok")
                << " rows=" << dataset->bars->size() << " bytes=" << dataset->bytes_received
                << " synthetic=" << (dataset->synthetic ? "yes" : "no")
                << " fingerprint=" << dataset->fingerprint << "\n";
      std::cout.flush();
    }
  }
  return failures == 0 ? 0 : 1;
}

int run_fetch(const GlobalOptions& global, const FetchOptions& o) {
  auto config = begin_command("fetch", global);
  if (!config) return 2;
  return o.via_service ? fetch_via_service(*config, o) : fetch_direct(*config, o);
}

int run_data_ls(const GlobalOptions& global) {
  auto config = load_config_or_report(global);
  if (!config) return 2;
  if (!std::filesystem::exists(config->storage.market_db)) {
    std::cout << "market cache " << config->storage.market_db << " does not exist yet\n";
    return 0;
  }
  auto cache = fetcher::MarketCache::open(config->storage.market_db);
  if (!cache) {
    std::cerr << "nightshift: " << cache.error() << "\n";
    return 1;
  }
  auto series = cache->list();
  if (!series) {
    std::cerr << "nightshift: " << series.error() << "\n";
    return 1;
  }
  std::cout << std::left << std::setw(10) << "SOURCE" << std::setw(12) << "SYMBOL" << std::setw(5)
            << "TF" << std::setw(10) << "BARS" << std::setw(22) << "FIRST" << std::setw(22)
            << "LAST" << std::setw(22) << "FETCHED" << "KIND\n";
  for (const auto& s : *series) {
    std::cout << std::left << std::setw(10) << s.key.source << std::setw(12) << s.key.symbol
              << std::setw(5) << s.key.timeframe << std::setw(10) << s.bars << std::setw(22)
              << (s.bars ? fetcher::format_time(s.first_ts) : "-") << std::setw(22)
              << (s.bars ? fetcher::format_time(s.last_ts) : "-") << std::setw(22)
              << fetcher::format_time(s.coverage.fetched_at)
              << (s.coverage.synthetic ? "synthetic" : "market") << "\n";
  }
  return 0;
}

}  // namespace

void add_fetcher_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto* stage = app.add_subcommand(
      "fetcher", "Run the fetcher stage: serve datasets on fetcher.dataset_endpoint from the "
                 "market cache, fetching what is missing, until SIGINT/SIGTERM");
  auto offline = std::make_shared<bool>(false);
  stage->add_flag("--offline", *offline,
                  "Answer from the market cache only; never fetch (what `nightshift rerun` runs)");
  stage->callback([&, offline] {
    auto config = begin_command("fetcher", global);
    exit_code = config ? fetcher::run_fetcher_stage(*config, *offline) : 2;
  });

  auto o = std::make_shared<FetchOptions>();
  auto* fetch = app.add_subcommand("fetch", "Fetch bars for SYMBOL... into the market cache");
  fetch->add_option("symbols", o->symbols, "Symbols, e.g. BTCUSDT AAPL")->required();
  fetch->add_option("--tf", o->timeframe, "Timeframe: 1m 5m 15m 30m 1h 4h 1d 1w");
  fetch->add_option("--from", o->from, "Start: YYYY-MM-DD[THH:MM] (UTC) or epoch seconds");
  fetch->add_option("--to", o->to, "End (exclusive); default now");
  fetch->add_option("--source", o->source, "yahoo|binance|csv|synthetic (default: config)")
      ->check(CLI::IsMember({"yahoo", "binance", "csv", "synthetic"}));
  fetch->add_flag("--via-service", o->via_service,
                  "Ask the running fetcher's dataset service (as a worker does) instead of "
                  "fetching here");
  fetch->add_option("--repeat", o->repeat, "With --via-service: ask N times (shows the "
                    "per-process cache: later rounds answer 'unchanged')")
      ->check(CLI::PositiveNumber);
  fetch->add_flag("-q,--quiet", o->quiet, "No progress bar");
  fetch->callback([&, o] { exit_code = run_fetch(global, *o); });

  auto* data = app.add_subcommand("data", "Inspect the market cache");
  data->require_subcommand(1);
  auto* ls = data->add_subcommand("ls", "List the series the market cache holds");
  ls->callback([&] { exit_code = run_data_ls(global); });
}

}  // namespace nightshift::cli
