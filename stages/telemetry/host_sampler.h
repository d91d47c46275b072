// HostSampler: CPU, memory, load, disks and nightshift's own processes, from
// <proc_root> (telemetry.proc_root) and statvfs. CPU percentages are deltas
// between samples, so the first sample has none.
//
// It runs at up to 100 Hz, so the /proc files stay open (KernelFile) and a
// sample costs one pread(2) per file, one statvfs per disk and nothing else.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/telemetry_messages.h"
#include "stages/telemetry/kernel_file.h"
#include "stages/telemetry/own_processes.h"
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
  // The current text of <proc_root>/<name>, opening `file` on first use (and
  // again after a failure to open).
  Result<std::string_view> read_proc(KernelFile& file, const char* name);
  void read_cpu(HostSample& out);
  void read_memory_and_load(HostSample& out);
  void read_disks(HostSample& out);

  std::string proc_root_;
  std::vector<std::string> disks_;
  KernelFile stat_;
  KernelFile meminfo_;
  KernelFile loadavg_;
  OwnProcesses processes_;
  std::optional<CpuTimes> previous_cpu_;
  std::string last_error_;
};

}  // namespace nightshift::telemetry
