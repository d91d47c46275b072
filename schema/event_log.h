// The results database's event log read back in order: what `nightshift
// replay` publishes and `export --what events` writes.
//
// The events table has no run column (the persister logs every event it
// hears), but one run owns a database at a time, so a run's events are
// those stored while it went: from kRunSpanMargin before its start (the
// stages start a moment before the scheduler creates the run) to
// kRunSpanMargin after its finish (they stop a moment after), cut where a
// neighbouring run's span begins; an unfinished run reaches to the next
// run's start, or without end.
//
// EventCursor reads in pages by key (ts_ns, id), so memory stays constant
// for any run size and no read transaction is held between pages (a long
// replay never pins the write-ahead log of a running persister).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "schema/result.h"
#include "schema/sqlite.h"

namespace nightshift {

inline constexpr int64_t kRunSpanMargin = 30'000'000'000;  // ns

// Inclusive bounds in ns since the epoch.
struct TimeSpan {
  int64_t from_ns = 0;
  int64_t to_ns = 0;
};

// The span of `run`'s events; nullopt when the database has no such run.
Result<std::optional<TimeSpan>> run_span(sql::Database& db, const std::string& run);

// One stored event. The views are valid until the cursor moves.
struct StoredEvent {
  int64_t id = 0;
  int64_t ts_ns = 0;
  std::string_view topic;
  std::string_view type;
  std::string_view body;
};

class EventCursor {
 public:
  static Result<EventCursor> open(sql::Database& db, TimeSpan span, int page_rows = 4096);

  // The next event in (ts_ns, id) order, or nullptr after the last.
  Result<const StoredEvent*> next();
  // The next call to next() returns the first event at or after ts_ns.
  void seek(int64_t ts_ns);
  // Ends the page being read (and its read transaction); the next call to
  // next() goes on from the same key. For a cursor that waits a while.
  void release();
  const TimeSpan& span() const { return span_; }

  // Events in the span, and the first one's timestamp (queries of their own).
  Result<int64_t> count();
  Result<std::optional<int64_t>> first_ts();

 private:
  EventCursor(sql::Database& db, sql::Statement page, TimeSpan span, int page_rows)
      : db_(&db), page_(std::move(page)), span_(span), page_rows_(page_rows) {}

  sql::Database* db_;
  sql::Statement page_;
  TimeSpan span_;
  int page_rows_;
  int rows_in_page_ = 0;
  bool page_open_ = false;
  bool done_ = false;
  int64_t after_ts_ = 0;  // the key of the last row returned
  int64_t after_id_ = 0;
  StoredEvent current_;
};

}  // namespace nightshift
