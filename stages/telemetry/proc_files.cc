#include "stages/telemetry/proc_files.h"

#include <charconv>

namespace nightshift::telemetry {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n'; }

// Reads the next whitespace-separated number of `text` from `pos` on,
// leaving `pos` just after it. False if there is none or it is malformed.
template <typename Number>
bool next_number(std::string_view text, std::size_t& pos, Number& value) {
  while (pos < text.size() && is_blank(text[pos])) ++pos;
  const char* begin = text.data() + pos;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr == begin) return false;
  if (ptr != end && !is_blank(*ptr)) return false;  // "12abc" is not a number
  pos = static_cast<std::size_t>(ptr - text.data());
  return true;
}

// Skips `count` whitespace-separated fields from `pos` on.
bool skip_fields(std::string_view text, std::size_t& pos, int count) {
  for (int i = 0; i < count; ++i) {
    while (pos < text.size() && is_blank(text[pos])) ++pos;
    if (pos == text.size()) return false;
    while (pos < text.size() && !is_blank(text[pos])) ++pos;
  }
  return true;
}

// The kB value of the meminfo line that starts with `label` ("MemTotal:").
bool meminfo_kib(std::string_view text, std::string_view label, uint64_t& kib) {
  for (std::size_t line = 0; line < text.size();) {
    std::size_t eol = text.find('\n', line);
    if (eol == std::string_view::npos) eol = text.size();
    if (text.substr(line, eol - line).starts_with(label)) {
      std::size_t pos = line + label.size();
      return next_number(text.substr(0, eol), pos, kib);
    }
    line = eol + 1;
  }
  return false;
}

}  // namespace

Result<CpuTimes> parse_proc_stat(std::string_view text) {
  if (!text.starts_with("cpu ")) {
    return make_error("/proc/stat: first line is not the aggregate 'cpu' line");
  }
  std::string_view line = text.substr(0, text.find('\n'));
  std::size_t pos = 4;
  uint64_t f[8] = {};  // user nice system idle iowait irq softirq steal
  for (auto& value : f) {
    if (!next_number(line, pos, value)) {
      return make_error("/proc/stat: 'cpu' line has fewer than 8 counters");
    }
  }
  CpuTimes t;
  t.busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
  t.total = t.busy + f[3] + f[4];
  return t;
}

Result<double> cpu_busy_pct(const CpuTimes& before, const CpuTimes& after) {
  if (after.total <= before.total) return make_error("no CPU ticks elapsed");
  if (after.busy < before.busy) return make_error("CPU counters went backwards");
  double busy = static_cast<double>(after.busy - before.busy);
  return 100.0 * busy / static_cast<double>(after.total - before.total);
}

Result<MemInfo> parse_meminfo(std::string_view text) {
  uint64_t total_kib = 0, available_kib = 0;
  if (!meminfo_kib(text, "MemTotal:", total_kib)) {
    return make_error("/proc/meminfo: no MemTotal line");
  }
  if (!meminfo_kib(text, "MemAvailable:", available_kib)) {
    return make_error("/proc/meminfo: no MemAvailable line");
  }
  return MemInfo{total_kib * 1024, available_kib * 1024};
}

Result<LoadAverage> parse_loadavg(std::string_view text) {
  LoadAverage l;
  std::size_t pos = 0;
  if (!next_number(text, pos, l.load1) || !next_number(text, pos, l.load5) ||
      !next_number(text, pos, l.load15)) {
    return make_error("/proc/loadavg: expected three load averages");
  }
  return l;
}

Result<ProcessStat> parse_process_stat(std::string_view text) {
  // The command name is in parentheses and may itself contain ") ".
  auto open = text.find('(');
  auto close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return make_error("process stat: no '(comm)' field");
  }
  ProcessStat stat;
  stat.comm.assign(text.substr(open + 1, close - open - 1));
  // After "(comm)": field 3 (state) ... field 14 utime, 15 stime, 24 rss.
  std::size_t pos = close + 1;
  uint64_t utime = 0, stime = 0;
  if (!skip_fields(text, pos, 11)) return make_error("process stat: fewer than 24 fields");
  if (!next_number(text, pos, utime) || !next_number(text, pos, stime)) {
    return make_error("process stat: non-numeric utime or stime");
  }
  if (!skip_fields(text, pos, 8)) return make_error("process stat: fewer than 24 fields");
  if (!next_number(text, pos, stat.rss_pages)) {
    return make_error("process stat: non-numeric rss");
  }
  stat.cpu_ticks = utime + stime;
  return stat;
}

}  // namespace nightshift::telemetry
