// OwnProcesses: the processes whose command name starts with a given name
// ("nightshift"), with their CPU % and RSS. Finding them means reading the
// stat file of every pid under <proc_root>, so that happens only every few
// seconds, and a pid already judged not ours is not read again until a full
// recheck (a pid can exec into nightshift, or be reused). Each process found
// keeps its stat file open (KernelFile), so a sample costs one pread(2) per
// own process and nothing per other process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "schema/telemetry_messages.h"
#include "stages/telemetry/kernel_file.h"

namespace nightshift::telemetry {

class OwnProcesses {
 public:
  OwnProcesses(std::string proc_root, std::string name);

  // Appends one entry per live own process, in pid order; rescans <proc_root>
  // first when the last scan is older than the rescan interval. CPU % needs
  // two readings, so a process's first entry has none (0).
  void sample(int64_t mono_ns, std::vector<ProcessUsage>& out);
  // The last failure (unreadable <proc_root>), empty if none.
  const std::string& last_error() const { return last_error_; }
  std::size_t scans() const { return scans_; }

 private:
  struct Process {
    pid_t pid = 0;
    KernelFile stat;
    uint64_t cpu_ticks = 0;
    int64_t mono_ns = -1;  // of cpu_ticks; -1 before the first reading
  };
  void rescan();
  std::vector<pid_t> list_pids();
  bool is_ours(pid_t pid, KernelFile& stat);

  std::string proc_root_;
  std::string name_;
  std::vector<Process> processes_;  // sorted by pid
  std::vector<pid_t> others_;       // sorted; seen at the last scan, not ours
  int64_t last_scan_ns_ = -1;
  std::size_t scans_ = 0;
  long ticks_per_s_ = 100;
  long page_bytes_ = 4096;
  std::string last_error_;
};

}  // namespace nightshift::telemetry
