#include "stages/fetcher/dataset_store.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "config/config.h"
#include "stages/fetcher/ingest.h"

namespace nightshift::fetcher {
namespace {

int64_t system_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t align_down(int64_t ts, int64_t step) { return ts - (((ts % step) + step) % step); }

struct Gap {
  int64_t from, to;
};

// The parts of [start, end) that the coverage lacks (head first, then tail).
std::vector<Gap> missing(const std::optional<Coverage>& cov, int64_t start, int64_t end,
                         int64_t now, int64_t timeframe_s) {
  if (!cov) return {{start, end}};
  std::vector<Gap> gaps;
  if (start < cov->from_ts) gaps.push_back({start, std::min(end, cov->from_ts)});
  if (end > cov->to_ts) {
    const int64_t ttl_s = std::max<int64_t>(60, timeframe_s);
    bool reached_present = cov->to_ts >= align_down(cov->fetched_at, timeframe_s);
    bool fresh = reached_present && now - cov->fetched_at < ttl_s;
    // From covered_to, not from start: coverage must stay one contiguous range.
    if (!fresh) gaps.push_back({cov->to_ts, end});
  }
  // A head gap that stops short of the coverage would leave a hole; bridge it.
  if (!gaps.empty() && gaps.front().to < cov->from_ts) gaps.front().to = cov->from_ts;
  return gaps;
}

}  // namespace

DatasetStore::DatasetStore(MarketCache& cache, History history_days_for, Clock clock)
    : cache_(cache),
      history_days_for_(std::move(history_days_for)),
      clock_(clock ? std::move(clock) : system_now_s) {}

void DatasetStore::add_source(std::unique_ptr<BarSource> source) {
  std::string name = source->name();
  sources_[name] = std::move(source);
}

BarSource* DatasetStore::source(const std::string& name) {
  auto found = sources_.find(name);
  return found == sources_.end() ? nullptr : found->second.get();
}

const BarSource* DatasetStore::find_source(const std::string& name) const {
  auto found = sources_.find(name);
  return found == sources_.end() ? nullptr : found->second.get();
}

Result<DatasetQuery> DatasetStore::resolve(const DatasetQuery& query) const {
  if (find_source(query.source) == nullptr) {
    return make_error("no source named '" + query.source + "' is configured");
  }
  const int64_t timeframe_s = static_cast<int64_t>(config::timeframe_minutes(query.timeframe)) * 60;
  if (timeframe_s <= 0) return make_error("unknown timeframe '" + query.timeframe + "'");
  if (query.symbol.empty()) return make_error("empty symbol");
  const int64_t now = clock_();
  DatasetQuery resolved = query;
  // Only closed bars: the bar that opened at align_down(now) is still forming.
  resolved.end_ts = query.end_ts > 0 ? query.end_ts : align_down(now, timeframe_s);
  resolved.start_ts = query.start_ts > 0
                          ? query.start_ts
                          : resolved.end_ts - int64_t{history_days_for_(query.timeframe)} * 86400;
  if (resolved.start_ts >= resolved.end_ts) {
    return make_error("empty range: start must be before end");
  }
  return resolved;
}

Result<std::optional<DatasetAnswer>> DatasetStore::get_cached(MarketCache& reader,
                                                              const DatasetQuery& resolved) const {
  const BarSource* src = find_source(resolved.source);
  if (src == nullptr) return make_error("no source named '" + resolved.source + "' is configured");
  const int64_t timeframe_s =
      static_cast<int64_t>(config::timeframe_minutes(resolved.timeframe)) * 60;
  const int64_t now = clock_();
  SeriesKey key{resolved.source, resolved.symbol, resolved.timeframe};
  auto cov = reader.coverage(key);
  if (!cov) return cov.take_error();
  for (const Gap& gap : missing(*cov, resolved.start_ts, resolved.end_ts, now, timeframe_s)) {
    // The same rule as get(): a gap of bars not closed yet needs no fetch.
    if (std::min(gap.to, align_down(now, timeframe_s)) > gap.from) return std::optional<DatasetAnswer>{};
  }
  // Coverage and bars are read in two statements; bars are only ever added
  // or revised inside coverage, so a commit between them cannot hide a row.
  auto bars = reader.read(key, resolved.start_ts, resolved.end_ts);
  if (!bars) return bars.take_error();
  DatasetAnswer answer;
  answer.synthetic = src->synthetic();
  answer.bars = std::move(*bars);
  return std::optional<DatasetAnswer>(std::move(answer));
}

Result<DatasetAnswer> DatasetStore::get(const DatasetQuery& query, const ProgressSink& progress) {
  auto resolved = resolve(query);
  if (!resolved) return resolved.take_error();
  BarSource* src = source(query.source);
  const int64_t timeframe_s = static_cast<int64_t>(config::timeframe_minutes(query.timeframe)) * 60;
  const int64_t now = clock_();
  const int64_t start = resolved->start_ts;
  const int64_t end = resolved->end_ts;

  SeriesKey key{query.source, query.symbol, query.timeframe};
  auto cov = cache_.coverage(key);
  if (!cov) return cov.take_error();
  DatasetAnswer answer;
  answer.synthetic = src->synthetic();
  for (const Gap& gap : missing(*cov, start, end, now, timeframe_s)) {
    // Never claim coverage of bars that have not closed yet.
    int64_t to = std::min(gap.to, align_down(now, timeframe_s));
    if (to <= gap.from) continue;
    if (offline_) {
      return make_error(ErrorKind::not_found,
                        query.source + " " + query.symbol + " " + query.timeframe + " [" +
                            std::to_string(gap.from) + ", " + std::to_string(to) +
                            "): not in the market cache, and this fetcher is offline (no fetch)");
    }
    if (Status s = fetch_into_cache(*src, key, gap.from, to, timeframe_s, answer, progress); !s) {
      return s.take_error();
    }
  }
  auto bars = cache_.read(key, start, end);
  if (!bars) return bars.take_error();
  answer.bars = std::move(*bars);
  return answer;
}

Status DatasetStore::fetch_into_cache(BarSource& source, const SeriesKey& key, int64_t from,
                                      int64_t to, int64_t timeframe_s, DatasetAnswer& answer,
                                      const ProgressSink& progress) {
  ++answer.fetches;
  // Pages are validated and stored while the next one is fetched; nothing of
  // the range is committed unless every page arrived (see ingest.h).
  FetchLogEntry log{from, to, clock_(), "ok", "", {}};
  auto ingested = ingest_range(source, cache_, key, std::move(log), timeframe_s, progress);
  if (!ingested) return ingested.take_error();
  answer.report = ingested->report;
  answer.rows_stored += ingested->rows_stored;
  return Status::success();
}

}  // namespace nightshift::fetcher
