#include "stages/fetcher/source_factory.h"

#include <memory>

#include "stages/fetcher/binance_source.h"
#include "stages/fetcher/csv_source.h"
#include "stages/fetcher/synthetic_source.h"
#include "stages/fetcher/yahoo_source.h"

namespace nightshift::fetcher {

void add_configured_sources(DatasetStore& store, const config::FetcherConfig& config,
                            const NoticeSink& notices) {
  store.add_source(std::make_unique<SyntheticSource>(config.synthetic_seed, config.synthetic_signal,
                                                     config.synthetic_signals));
  store.add_source(std::make_unique<YahooSource>(config, notices));
  store.add_source(std::make_unique<BinanceSource>(config, notices));
  store.add_source(std::make_unique<CsvSource>(config.csv_dir));
}

}  // namespace nightshift::fetcher
