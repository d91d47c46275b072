// A run's history as rows, streamed one at a time: what `nightshift export`
// writes. One statement steps over the table's index, so memory stays
// constant for any run size.
//
// trials and models are the tables' own columns (SELECT *: a column a later
// migration adds comes along) for the run; telemetry, alerts and events are
// the rows in the run's span (schema/event_log.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "schema/event_log.h"
#include "schema/result.h"
#include "schema/sqlite.h"

namespace nightshift {

enum class HistoryKind { trials, models, telemetry, alerts, events };

Result<HistoryKind> parse_history_kind(std::string_view text);

// One value of a row; text and blob views are valid until the next row.
struct Cell {
  enum class Type { null, integer, real, text, blob };
  Type type = Type::null;
  int64_t integer = 0;
  double real = 0;
  std::string_view bytes;
};

class HistoryRows {
 public:
  static Result<HistoryRows> open(sql::Database& db, HistoryKind kind, const std::string& run);

  const std::vector<std::string>& columns() const { return columns_; }
  // Steps to the next row; false after the last.
  Result<bool> next();
  Cell cell(int column) const;

 private:
  HistoryRows(std::vector<sql::Statement> parts, std::vector<std::string> columns)
      : parts_(std::move(parts)), columns_(std::move(columns)) {}

  std::vector<sql::Statement> parts_;  // run one after the other (telemetry: host, then gpu)
  std::size_t part_ = 0;
  std::vector<std::string> columns_;
};

}  // namespace nightshift
