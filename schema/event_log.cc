#include "schema/event_log.h"

#include <algorithm>
#include <limits>

namespace nightshift {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

struct Neighbour {
  int64_t started_ns = 0;
  std::optional<int64_t> finished_ns;
};

Result<std::optional<Neighbour>> neighbour(sql::Database& db, const std::string& sql_text,
                                           int64_t started_ns) {
  auto stmt = db.prepare(sql_text);
  if (!stmt) return stmt.take_error();
  stmt->bind(1, started_ns);
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<Neighbour>();
  Neighbour n;
  n.started_ns = stmt->column_int(0);
  if (!stmt->column_is_null(1)) n.finished_ns = stmt->column_int(1);
  return std::optional<Neighbour>(n);
}

// a + b without overflow past the int64 range.
int64_t plus(int64_t a, int64_t b) {
  if (b > 0 && a > kMax - b) return kMax;
  if (b < 0 && a < kMin - b) return kMin;
  return a + b;
}

}  // namespace

Result<std::optional<TimeSpan>> run_span(sql::Database& db, const std::string& run) {
  auto stmt = db.prepare("SELECT started_ns, finished_ns FROM runs WHERE run = ?1");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, run);
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<TimeSpan>();
  Neighbour self;
  self.started_ns = stmt->column_int(0);
  if (!stmt->column_is_null(1)) self.finished_ns = stmt->column_int(1);

  auto prev = neighbour(db,
                        "SELECT started_ns, finished_ns FROM runs WHERE started_ns < ?1 "
                        "ORDER BY started_ns DESC LIMIT 1",
                        self.started_ns);
  if (!prev) return prev.take_error();
  auto next = neighbour(db,
                        "SELECT started_ns, finished_ns FROM runs WHERE started_ns > ?1 "
                        "ORDER BY started_ns ASC LIMIT 1",
                        self.started_ns);
  if (!next) return next.take_error();

  // A run's end: its finish plus the margin, cut before the next run starts.
  auto end_of = [](const Neighbour& r, const std::optional<Neighbour>& after) {
    int64_t end = r.finished_ns ? plus(*r.finished_ns, kRunSpanMargin) : kMax;
    if (after) end = std::min(end, after->started_ns - 1);
    return end;
  };
  TimeSpan span;
  span.from_ns = plus(self.started_ns, -kRunSpanMargin);
  if (*prev) span.from_ns = std::max(span.from_ns, plus(end_of(**prev, self), 1));
  span.to_ns = end_of(self, *next);
  return std::optional<TimeSpan>(span);
}

Result<EventCursor> EventCursor::open(sql::Database& db, TimeSpan span, int page_rows) {
  // The index on ts_ns holds the rowid (id) too, so this walks it in order.
  auto page = db.prepare(
      "SELECT id, ts_ns, topic, type, body FROM events "
      "WHERE ts_ns >= ?1 AND ts_ns <= ?3 AND (ts_ns > ?1 OR id > ?2) "
      "ORDER BY ts_ns, id LIMIT ?4");
  if (!page) return page.take_error();
  EventCursor cursor(db, std::move(*page), span, std::max(page_rows, 1));
  cursor.seek(span.from_ns);
  return cursor;
}

void EventCursor::seek(int64_t ts_ns) {
  // Key (ts - 1, max id): the first row at or after ts_ns is next.
  after_ts_ = std::max(ts_ns, span_.from_ns);
  after_ts_ = after_ts_ == kMin ? kMin : after_ts_ - 1;
  after_id_ = kMax;
  done_ = false;
  release();
}

void EventCursor::release() {
  page_.reset();
  page_open_ = false;
  rows_in_page_ = 0;
}

Result<const StoredEvent*> EventCursor::next() {
  while (!done_) {
    if (!page_open_) {
      page_.bind(1, after_ts_).bind(2, after_id_).bind(3, span_.to_ns);
      page_.bind(4, static_cast<int64_t>(page_rows_));
      page_open_ = true;
    }
    auto row = page_.step();
    if (!row) {
      release();
      return row.take_error();
    }
    if (*row) {
      ++rows_in_page_;
      current_.id = page_.column_int(0);
      current_.ts_ns = page_.column_int(1);
      current_.topic = page_.column_view(2);
      current_.type = page_.column_view(3);
      current_.body = page_.column_view(4);
      after_ts_ = current_.ts_ns;
      after_id_ = current_.id;
      return &current_;
    }
    // A short page was the last one; a full one may have more behind it.
    done_ = rows_in_page_ < page_rows_;
    release();
  }
  return static_cast<const StoredEvent*>(nullptr);
}

Result<int64_t> EventCursor::count() {
  auto stmt = db_->prepare("SELECT COUNT(*) FROM events WHERE ts_ns >= ?1 AND ts_ns <= ?2");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, span_.from_ns).bind(2, span_.to_ns);
  auto row = stmt->step();
  if (!row) return row.take_error();
  return stmt->column_int(0);
}

Result<std::optional<int64_t>> EventCursor::first_ts() {
  auto stmt = db_->prepare("SELECT MIN(ts_ns) FROM events WHERE ts_ns >= ?1 AND ts_ns <= ?2");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, span_.from_ns).bind(2, span_.to_ns);
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (stmt->column_is_null(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(stmt->column_int(0));
}

}  // namespace nightshift
