#include "schema/history_rows.h"

namespace nightshift {

Result<HistoryKind> parse_history_kind(std::string_view text) {
  if (text == "trials") return HistoryKind::trials;
  if (text == "models") return HistoryKind::models;
  if (text == "telemetry") return HistoryKind::telemetry;
  if (text == "alerts") return HistoryKind::alerts;
  if (text == "events") return HistoryKind::events;
  return make_error(ErrorKind::invalid_input, "unknown history '" + std::string(text) +
                                                  "' (trials, models, telemetry, alerts, events)");
}

Result<HistoryRows> HistoryRows::open(sql::Database& db, HistoryKind kind, const std::string& run) {
  std::vector<std::string> sql_parts;
  bool by_run = kind == HistoryKind::trials || kind == HistoryKind::models;
  switch (kind) {
    case HistoryKind::trials:
      sql_parts = {"SELECT * FROM trials WHERE run = ?1 ORDER BY study, trial"};
      break;
    case HistoryKind::models:
      sql_parts = {"SELECT * FROM models WHERE run = ?1 ORDER BY study"};
      break;
    case HistoryKind::telemetry:
      sql_parts = {
          "SELECT ts_ns, 'host' AS device, host AS name, body "
          "FROM telemetry_host WHERE ts_ns >= ?1 AND ts_ns <= ?2 ORDER BY ts_ns",
          "SELECT ts_ns, 'gpu' AS device, topic AS name, body "
          "FROM telemetry_gpu WHERE ts_ns >= ?1 AND ts_ns <= ?2 ORDER BY ts_ns"};
      break;
    case HistoryKind::alerts:
      sql_parts = {"SELECT id, ts_ns, topic, body FROM alerts WHERE ts_ns >= ?1 AND ts_ns <= ?2 "
                   "ORDER BY id"};
      break;
    case HistoryKind::events:
      sql_parts = {"SELECT id, ts_ns, topic, type, body FROM events "
                   "WHERE ts_ns >= ?1 AND ts_ns <= ?2 ORDER BY ts_ns, id"};
      break;
  }
  TimeSpan span;
  if (!by_run) {
    auto found = run_span(db, run);
    if (!found) return found.take_error();
    if (!*found) return make_error(ErrorKind::not_found, "no run '" + run + "' in " + db.path());
    span = **found;
  } else {
    auto exists = db.prepare("SELECT 1 FROM runs WHERE run = ?1");
    if (!exists) return exists.take_error();
    exists->bind(1, run);
    auto row = exists->step();
    if (!row) return row.take_error();
    if (!*row) return make_error(ErrorKind::not_found, "no run '" + run + "' in " + db.path());
  }
  std::vector<sql::Statement> parts;
  std::vector<std::string> columns;
  for (const auto& text : sql_parts) {
    auto stmt = db.prepare(text);
    if (!stmt) return stmt.take_error();
    if (by_run) {
      stmt->bind(1, run);
    } else {
      stmt->bind(1, span.from_ns).bind(2, span.to_ns);
    }
    if (columns.empty()) {
      for (int i = 0; i < stmt->column_count(); ++i) columns.push_back(stmt->column_name(i));
    }
    parts.push_back(std::move(*stmt));
  }
  return HistoryRows(std::move(parts), std::move(columns));
}

Result<bool> HistoryRows::next() {
  while (part_ < parts_.size()) {
    auto row = parts_[part_].step();
    if (!row) return row.take_error();
    if (*row) return true;
    ++part_;
  }
  return false;
}

Cell HistoryRows::cell(int column) const {
  const sql::Statement& s = parts_[part_];
  Cell c;
  switch (s.column_type(column)) {
    case SQLITE_INTEGER: c.type = Cell::Type::integer; c.integer = s.column_int(column); break;
    case SQLITE_FLOAT: c.type = Cell::Type::real; c.real = s.column_double(column); break;
    case SQLITE_TEXT: c.type = Cell::Type::text; c.bytes = s.column_view(column); break;
    case SQLITE_BLOB: c.type = Cell::Type::blob; c.bytes = s.column_view(column); break;
    default: break;
  }
  return c;
}

}  // namespace nightshift
