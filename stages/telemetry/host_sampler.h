// HostSampler: CPU, memory, load, disks and nightshift's own processes, from
// <proc_root> (telemetry.proc_root) and statvfs. CPU percentages are deltas
// between samples, so the first sample has none.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "schema/telemetry_messages.h"
#include "stages/telemetry/proc_files.h"

namespace nightshift::telemetry {

class HostSampler {
 public:
  // `process_name`: the comm of processes to report ("nightshift").
  HostSampler(std::string proc_root, std::vector<std::string> disks,
              std::string process_name = "nightshift");

  // Fills `out` (host name excluded). Files that cannot be read leave their
  // fields at their defaults; the error of the last failure is kept.
  void sample(int64_t mono_ns, HostSample& out);
  const std::string& last_error() const { return last_error_; }

 private:
  struct Tracked {
    uint64_t cpu_ticks = 0;
    int64_t mono_ns = 0;
  };
  void read_cpu(HostSample& out);
  void read_memory_and_load(HostSample& out);
  void read_disks(HostSample& out);
  void read_processes(int64_t mono_ns, HostSample& out);
  void rescan_processes(int64_t mono_ns);

  std::string proc_root_;
  std::vector<std::string> disks_;
  std::string process_name_;
  std::optional<CpuTimes> previous_cpu_;
  std::map<pid_t, Tracked> tracked_;
  int64_t last_scan_ns_ = -1;
  long ticks_per_s_ = 100;
  long page_bytes_ = 4096;
  std::string last_error_;
};

}  // namespace nightshift::telemetry
