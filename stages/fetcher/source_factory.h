// Builds every configured source for a DatasetStore.
#pragma once

#include "config/config.h"
#include "stages/fetcher/dataset_store.h"
#include "stages/fetcher/source.h"

namespace nightshift::fetcher {

// Adds synthetic, yahoo, binance and csv sources built from config.fetcher.
// Rate-limit and circuit notices go to `notices`.
void add_configured_sources(DatasetStore& store, const config::FetcherConfig& config,
                            const NoticeSink& notices);

}  // namespace nightshift::fetcher
