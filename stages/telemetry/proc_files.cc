#include "stages/telemetry/proc_files.h"

#include <cstdio>
#include <sstream>
#include <vector>

namespace nightshift::telemetry {

Result<CpuTimes> parse_proc_stat(const std::string& text) {
  std::istringstream in(text);
  std::string label;
  in >> label;
  if (label != "cpu") return make_error("/proc/stat: first line is not the aggregate 'cpu' line");
  uint64_t f[8] = {};  // user nice system idle iowait irq softirq steal
  for (auto& value : f) {
    if (!(in >> value)) return make_error("/proc/stat: 'cpu' line has fewer than 8 counters");
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

Result<MemInfo> parse_meminfo(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  MemInfo info;
  bool total = false, available = false;
  while (std::getline(lines, line) && !(total && available)) {
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str(), "MemTotal: %llu kB", &kib) == 1) {
      info.total_bytes = kib * 1024;
      total = true;
    } else if (std::sscanf(line.c_str(), "MemAvailable: %llu kB", &kib) == 1) {
      info.available_bytes = kib * 1024;
      available = true;
    }
  }
  if (!total) return make_error("/proc/meminfo: no MemTotal line");
  if (!available) return make_error("/proc/meminfo: no MemAvailable line");
  return info;
}

Result<LoadAverage> parse_loadavg(const std::string& text) {
  LoadAverage l;
  if (std::sscanf(text.c_str(), "%lf %lf %lf", &l.load1, &l.load5, &l.load15) != 3) {
    return make_error("/proc/loadavg: expected three load averages");
  }
  return l;
}

Result<ProcessStat> parse_process_stat(const std::string& text) {
  // The command name is in parentheses and may itself contain ") ".
  auto open = text.find('(');
  auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return make_error("process stat: no '(comm)' field");
  }
  ProcessStat stat;
  stat.comm = text.substr(open + 1, close - open - 1);
  std::istringstream rest(text.substr(close + 1));
  std::vector<std::string> fields;  // fields[0] is field 3 (state)
  std::string field;
  while (rest >> field) fields.push_back(field);
  if (fields.size() < 22) return make_error("process stat: fewer than 24 fields");
  try {
    stat.cpu_ticks = std::stoull(fields[11]) + std::stoull(fields[12]);  // utime, stime
    stat.rss_pages = std::stoull(fields[21]);                            // rss
  } catch (const std::exception&) {
    return make_error("process stat: non-numeric utime, stime or rss");
  }
  return stat;
}

}  // namespace nightshift::telemetry
