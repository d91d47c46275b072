#include "stages/fetcher/csv_source.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "stages/fetcher/time_text.h"

namespace nightshift::fetcher {
namespace {

enum Column { kTime, kOpen, kHigh, kLow, kClose, kVolume, kColumns };

std::vector<std::string> split(const std::string& line) {
  char sep = line.find(';') != std::string::npos && line.find(',') == std::string::npos ? ';' : ',';
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) {
    auto first = field.find_first_not_of(" \t\"\r");
    auto last = field.find_last_not_of(" \t\"\r");
    fields.push_back(first == std::string::npos ? "" : field.substr(first, last - first + 1));
  }
  return fields;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

int column_of(const std::string& name) {
  std::string n = lower(name);
  if (n == "ts" || n == "time" || n == "timestamp" || n == "date" || n == "datetime" || n == "open_time") return kTime;
  if (n == "open" || n == "o") return kOpen;
  if (n == "high" || n == "h") return kHigh;
  if (n == "low" || n == "l") return kLow;
  if (n == "close" || n == "c" || n == "adj close") return n == "adj close" ? -1 : kClose;
  if (n == "volume" || n == "v" || n == "vol") return kVolume;
  return -1;
}

bool is_header(const std::vector<std::string>& fields) {
  return !fields.empty() && !parse_time(fields[0]).ok();
}

using Layout = std::array<int, kColumns>;  // column -> field index (-1: absent)

Result<Layout> layout_from_header(const std::vector<std::string>& fields, const std::string& at) {
  Layout layout;
  layout.fill(-1);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    int c = column_of(fields[i]);
    if (c >= 0 && layout[c] < 0) layout[c] = static_cast<int>(i);
  }
  const char* names[] = {"time", "open", "high", "low", "close"};
  for (int c = kTime; c <= kClose; ++c) {
    if (layout[c] < 0) return make_error(at + ": header has no '" + names[c] + "' column");
  }
  return layout;
}

Status parse_row(const std::vector<std::string>& f, const Layout& layout, const std::string& at, Bars& bars) {
  const char* names[] = {"time", "open", "high", "low", "close", "volume"};
  for (int c = kTime; c <= kClose; ++c) {
    if (layout[c] >= static_cast<int>(f.size())) return make_error(at + ": missing column '" + names[c] + "'");
  }
  auto ts = parse_time(f[layout[kTime]]);
  if (!ts) return make_error(at + ": column 'time': " + ts.error());
  double v[kColumns] = {0, 0, 0, 0, 0, 0};
  for (int c = kOpen; c <= kVolume; ++c) {
    if (layout[c] < 0 || layout[c] >= static_cast<int>(f.size())) continue;
    const std::string& text = f[layout[c]];
    char* end = nullptr;
    v[c] = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0') {
      return make_error(at + ": column '" + names[c] + "': '" + text + "' is not a number");
    }
  }
  bars.push_back({*ts, v[kOpen], v[kHigh], v[kLow], v[kClose], v[kVolume]});
  return Status::success();
}

}  // namespace

Result<Bars> parse_bars_csv(const std::string& text, const std::string& name) {
  Bars bars;
  Layout layout = {0, 1, 2, 3, 4, 5};
  std::istringstream in(text);
  std::string line;
  bool first = true;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string at = name + ":" + std::to_string(number);
    auto fields = split(line);
    if (first && is_header(fields)) {
      auto found = layout_from_header(fields, at);
      if (!found) return found.take_error();
      layout = *found;
      first = false;
      continue;
    }
    first = false;
    if (Status s = parse_row(fields, layout, at, bars); !s) return s.take_error();
  }
  return bars;
}

Result<Bars> CsvSource::fetch(const FetchRange& range, const ProgressSink& progress) {
  namespace fs = std::filesystem;
  fs::path path = fs::path(dir_) / (range.symbol + "_" + range.timeframe + ".csv");
  if (!fs::exists(path)) path = fs::path(dir_) / (range.symbol + ".csv");
  std::ifstream file(path);
  if (!file) {
    return make_error("csv: no file for " + range.symbol + " " + range.timeframe + " (looked for " +
                      (fs::path(dir_) / (range.symbol + "_" + range.timeframe + ".csv")).string() +
                      " and " + path.string() + ")");
  }
  std::stringstream text;
  text << file.rdbuf();
  auto all = parse_bars_csv(text.str(), path.string());
  if (!all) return all;
  Bars in_range;
  for (std::size_t i = 0; i < all->size(); ++i) {
    if (all->ts[i] >= range.start_ts && all->ts[i] < range.end_ts) in_range.push_back(all->row(i));
  }
  if (progress) progress(1.0);
  return in_range;
}

}  // namespace nightshift::fetcher
