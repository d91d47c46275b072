#include "stages/fetcher/dataset_check.h"

#include <filesystem>

#include "broker/dataset_protocol.h"
#include "stages/fetcher/market_cache.h"
#include "stages/fetcher/time_text.h"

namespace nightshift::fetcher {

std::string DatasetUse::describe() const {
  return source + " " + symbol + " " + timeframe + " " + format_time(first_ts) + ".." +
         format_time(last_ts);
}

Status check_datasets(const std::string& market_db, const std::vector<DatasetUse>& uses) {
  if (uses.empty()) return Status::success();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(market_db, ec)) {
    return make_error(ErrorKind::not_found, "dataset " + uses.front().describe() +
                                                ": the market cache " + market_db + " is not there");
  }
  auto cache = MarketCache::open(market_db);
  if (!cache) return cache.take_error();
  for (const DatasetUse& use : uses) {
    auto bars = cache->read(SeriesKey{use.source, use.symbol, use.timeframe}, use.first_ts,
                            use.last_ts + 1);
    if (!bars) return make_error(bars.error_kind(), "dataset " + use.describe() + ": " + bars.error());
    std::string found = bars->size() == 0 ? std::string("no bars") : dataset::fingerprint(*bars);
    if (found != use.fingerprint) {
      return make_error(ErrorKind::corrupt,
                        "dataset " + use.describe() + " changed in the market cache " + market_db +
                            ": the run used fingerprint " + use.fingerprint + ", the cache now gives " +
                            found + " (" + std::to_string(bars->size()) +
                            " bars); not re-fetched, so the run cannot be re-run exactly");
    }
  }
  return Status::success();
}

}  // namespace nightshift::fetcher
