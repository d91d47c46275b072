// Parsers for the /proc files the host sampler reads. Pure functions over
// the file text, so tests feed them fixtures; errors say what was malformed.
#pragma once

#include <cstdint>
#include <string>

#include "schema/result.h"

namespace nightshift::telemetry {

// The aggregate "cpu" line of /proc/stat, in clock ticks.
struct CpuTimes {
  uint64_t busy = 0;   // user + nice + system + irq + softirq + steal
  uint64_t total = 0;  // busy + idle + iowait
};
Result<CpuTimes> parse_proc_stat(const std::string& text);

// Busy percent between two readings; an error when no ticks elapsed.
Result<double> cpu_busy_pct(const CpuTimes& before, const CpuTimes& after);

struct MemInfo {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;
};
Result<MemInfo> parse_meminfo(const std::string& text);

struct LoadAverage {
  double load1 = 0, load5 = 0, load15 = 0;
};
Result<LoadAverage> parse_loadavg(const std::string& text);

// /proc/<pid>/stat: the command name and the counters we use.
struct ProcessStat {
  std::string comm;
  uint64_t cpu_ticks = 0;  // utime + stime
  uint64_t rss_pages = 0;
};
Result<ProcessStat> parse_process_stat(const std::string& text);

}  // namespace nightshift::telemetry
