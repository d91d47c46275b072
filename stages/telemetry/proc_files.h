// Parsers for the /proc files the host sampler reads. Pure functions over
// the file text, so tests feed them fixtures; errors say what was malformed.
// They run on every sample, so they scan the text in place (std::from_chars)
// and allocate nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "schema/result.h"

namespace nightshift::telemetry {

// The aggregate "cpu" line of /proc/stat, in clock ticks.
struct CpuTimes {
  uint64_t busy = 0;   // user + nice + system + irq + softirq + steal
  uint64_t total = 0;  // busy + idle + iowait
};
Result<CpuTimes> parse_proc_stat(std::string_view text);

// Busy percent between two readings; an error when no ticks elapsed.
Result<double> cpu_busy_pct(const CpuTimes& before, const CpuTimes& after);

struct MemInfo {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;
};
Result<MemInfo> parse_meminfo(std::string_view text);

struct LoadAverage {
  double load1 = 0, load5 = 0, load15 = 0;
};
Result<LoadAverage> parse_loadavg(std::string_view text);

// /proc/<pid>/stat: the command name and the counters we use.
struct ProcessStat {
  std::string comm;        // at most 15 bytes in the kernel: no heap allocation
  uint64_t cpu_ticks = 0;  // utime + stime
  uint64_t rss_pages = 0;
};
Result<ProcessStat> parse_process_stat(std::string_view text);

}  // namespace nightshift::telemetry
