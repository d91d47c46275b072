#include "stages/fetcher/ingest.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace nightshift::fetcher {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Pages from the fetching thread to the writer thread, bounded.
class PageQueue {
 public:
  explicit PageQueue(std::size_t capacity) : capacity_(capacity) {}

  // Blocks while the queue is full. False (page dropped) once the writer
  // has given up.
  bool push(Bars&& page) {
    std::unique_lock<std::mutex> lock(mutex_);
    room_.wait(lock, [&] { return pages_.size() < capacity_ || given_up_; });
    if (given_up_) return false;
    pages_.push_back(std::move(page));
    ready_.notify_one();
    return true;
  }

  // The next page; nullopt once closed and drained.
  std::optional<Bars> pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [&] { return !pages_.empty() || closed_; });
    if (pages_.empty()) return std::nullopt;
    Bars page = std::move(pages_.front());
    pages_.pop_front();
    room_.notify_one();
    return page;
  }

  // No more pages will come.
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    ready_.notify_all();
  }

  // The writer failed: drop what is queued, refuse what comes.
  void give_up() {
    std::lock_guard<std::mutex> lock(mutex_);
    given_up_ = true;
    pages_.clear();
    room_.notify_all();
  }

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_, room_;
  std::deque<Bars> pages_;
  bool closed_ = false;
  bool given_up_ = false;
};

// The writer thread's side: takes the write lock at the first page and adds
// every page to the same transaction.
struct StoreWorker {
  MarketCache& cache;
  const SeriesKey& key;
  PageQueue& queue;
  std::optional<MarketCache::Writer> writer;
  Status status;
  double busy_s = 0;

  void run() {
    try {
      while (auto page = queue.pop()) {
        auto t0 = Clock::now();
        if (!writer) {
          auto begun = cache.begin_store(key);
          if (!begun) {
            fail(begun.take_error());
            return;
          }
          writer.emplace(std::move(*begun));
        }
        if (Status s = writer->add(*page); !s) {
          fail(s);
          return;
        }
        busy_s += seconds(Clock::now() - t0);
      }
    } catch (const std::exception& e) {
      fail(make_error(std::string("storing bars: ") + e.what()));
    } catch (...) {
      fail(make_error("storing bars: unknown exception"));
    }
  }

  void fail(Status s) {
    status = std::move(s);
    queue.give_up();
  }
};

// Closes the queue and joins the writer however the fetch ends (an
// exception included), so no thread outlives the stack it points into.
class JoinOnExit {
 public:
  JoinOnExit(PageQueue& queue, std::thread& thread) : queue_(queue), thread_(thread) {}
  ~JoinOnExit() {
    queue_.close();
    if (thread_.joinable()) thread_.join();
  }
  JoinOnExit(const JoinOnExit&) = delete;
  JoinOnExit& operator=(const JoinOnExit&) = delete;

 private:
  PageQueue& queue_;
  std::thread& thread_;
};

}  // namespace

Result<IngestResult> ingest_range(BarSource& source, MarketCache& cache, const SeriesKey& key,
                                  FetchLogEntry log, int64_t timeframe_s,
                                  const ProgressSink& progress) {
  const auto t_start = Clock::now();
  IngestResult result;
  BarValidator validator(timeframe_s);
  PageQueue queue(kQueuedPages);
  StoreWorker worker{cache, key, queue, std::nullopt, Status::success(), 0.0};
  Clock::duration in_sink{};
  Clock::time_point t_fetched;
  Status fetched;
  {
    std::thread thread([&worker] { worker.run(); });
    JoinOnExit join(queue, thread);
    fetched = source.fetch_pages(
        {key.symbol, key.timeframe, log.start_ts, log.end_ts}, progress, [&](Bars&& page) {
          auto t0 = Clock::now();
          validator.add(page);
          auto t1 = Clock::now();
          result.stats.validate_s += seconds(t1 - t0);
          ++result.stats.pages;
          bool queued = queue.push(std::move(page));
          auto t2 = Clock::now();
          result.stats.blocked_s += seconds(t2 - t1);
          in_sink += t2 - t0;
          // The writer's own error is reported below; this only stops the source.
          return queued ? Status::success() : Status(make_error("storing the bars failed"));
        });
    t_fetched = Clock::now();
  }  // the writer has stored (or dropped) every page it was given
  result.stats.drain_s = seconds(Clock::now() - t_fetched);
  result.stats.store_s = worker.busy_s;
  result.stats.source_s = seconds(t_fetched - t_start - in_sink);
  if (!worker.status) return Error{worker.status.error()};  // rolled back with the Writer
  if (!fetched) {
    worker.writer.reset();  // ROLLBACK before the failure row is written
    log.status = "error";
    log.message = fetched.error();
    (void)cache.log_failure(key, log);  // best effort: the fetch error matters more
    return fetched.take_error();
  }
  auto t_commit = Clock::now();
  if (!worker.writer) {
    // No bars at all (a genuine hole): the coverage and the log row still count.
    auto begun = cache.begin_store(key);
    if (!begun) return begun.take_error();
    worker.writer.emplace(std::move(*begun));
  }
  result.report = validator.finish();
  log.status = "ok";
  log.report = result.report;
  log.message = result.report.summary();
  if (Status s = worker.writer->commit(source.synthetic(), log); !s) return s.take_error();
  result.rows_stored = result.report.rows_kept;
  result.stats.commit_s = seconds(Clock::now() - t_commit);
  result.stats.total_s = seconds(Clock::now() - t_start);
  return result;
}

}  // namespace nightshift::fetcher
