// CSV import. A file per series: {csv_dir}/{SYMBOL}_{tf}.csv, else
// {csv_dir}/{SYMBOL}.csv.
//
// Columns: time, open, high, low, close, volume (volume optional, 0 if
// absent). With a header line (detected: its first field is not a number or
// a date) columns are matched by name, case-insensitively: time may be named
// ts, time, timestamp, date, datetime or open_time; other columns are
// ignored. Without a header the order above is assumed. Separators: ',' or
// ';'. Times: epoch seconds, or ms/us/ns by digit count (13/16/19), or
// ISO-8601 dates "YYYY-MM-DD[ HH:MM[:SS]]" with an optional Z or ±HH:MM
// offset; dates without an offset are in UTC. Every problem is reported as
// "file:line: ...".
#pragma once

#include <string>

#include "stages/fetcher/source.h"

namespace nightshift::fetcher {

// Parses CSV text; `name` is used in error messages.
Result<Bars> parse_bars_csv(const std::string& text, const std::string& name);

class CsvSource : public BarSource {
 public:
  explicit CsvSource(std::string dir) : dir_(std::move(dir)) {}
  std::string name() const override { return "csv"; }
  Result<Bars> fetch(const FetchRange& range, const ProgressSink& progress) override;

 private:
  std::string dir_;
};

}  // namespace nightshift::fetcher
