// `nightshift export`: a run's history written as CSV or JSON lines, one
// row at a time (schema/history_rows.h), so memory stays constant for any
// run size. The columns of each kind are listed in docs/replay.md.
//
// CSV is RFC 4180 (a header line; fields with a comma, quote or line break
// are quoted, quotes doubled; NULL is an empty field); JSON columns (params,
// metrics, folds, gates, body, data) are their JSON text. In JSON lines
// every row is an object keyed by column, and JSON columns are nested.
// Events are decoded: their msgpack body becomes the header fields and the
// payload as JSON.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "config/config.h"
#include "schema/history_rows.h"
#include "schema/result.h"

namespace nightshift::replay {

enum class ExportFormat { csv, jsonl };

struct ExportOptions {
  std::string run;
  HistoryKind what = HistoryKind::trials;
  ExportFormat format = ExportFormat::csv;
  std::string out;  // empty: stdout
};

// Writes the rows to `out`; the number of rows written.
Result<int64_t> write_history(sql::Database& db, const ExportOptions& options, std::ostream& out);

// The command: opens the results database read-only and writes to
// options.out (through a temporary file renamed at the end) or stdout.
// Errors are one line on stderr; returns the exit code.
int run_export(const config::Config& config, const ExportOptions& options);

}  // namespace nightshift::replay
