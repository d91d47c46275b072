// One interface for every market-data source (Yahoo, Binance, CSV,
// synthetic): a request for (symbol, timeframe, [start, end)) becomes bars.
//
// A fetch is all or nothing: when any page of a multi-request range fails,
// the whole fetch fails, so the cache never stores part of a range as if it
// were complete.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "schema/data_messages.h"
#include "schema/event_messages.h"
#include "schema/result.h"

namespace nightshift::fetcher {

struct FetchRange {
  std::string symbol;
  std::string timeframe;  // 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w
  int64_t start_ts = 0;   // inclusive, seconds since epoch
  int64_t end_ts = 0;     // exclusive
};

// Where a source reports what the operator should know (rate limits, an
// open circuit); the stage publishes these as data.* events.
using NoticeSink = std::function<void(const DataNotice&)>;
// Fraction of the current fetch done, 0..1, for progress bars.
using ProgressSink = std::function<void(double)>;
// Receives the pages of a fetch in the order they arrived (unvalidated, as
// fetch() would return them). An error stops the fetch and becomes its error.
using PageSink = std::function<Status(Bars&& page)>;

class BarSource {
 public:
  virtual ~BarSource() = default;
  virtual std::string name() const = 0;
  virtual bool synthetic() const { return false; }
  // Bars with start_ts <= ts < end_ts, oldest first (validation comes later).
  virtual Result<Bars> fetch(const FetchRange& range, const ProgressSink& progress) = 0;
  // The same bars, handed over page by page as they arrive so the caller can
  // store one page while the next is in flight. All or nothing still holds
  // for the caller: an error after some pages means the range failed, and the
  // pages already handed over must not be kept as if complete. The default
  // hands over fetch()'s result as one page. Empty pages are not handed over.
  virtual Status fetch_pages(const FetchRange& range, const ProgressSink& progress,
                             const PageSink& sink) {
    auto bars = fetch(range, progress);
    if (!bars) return bars.take_error();
    if (bars->size() == 0) return Status::success();
    return sink(std::move(*bars));
  }
  // HTTP requests sent so far (0 for sources that make none).
  virtual uint64_t requests_sent() const { return 0; }
};

}  // namespace nightshift::fetcher
