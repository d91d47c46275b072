#include "stages/telemetry/own_processes.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "stages/telemetry/proc_files.h"

namespace nightshift::telemetry {
namespace {

// New own processes show up within this interval.
constexpr int64_t kRescanNs = 5'000'000'000;
// Every this many scans, pids already judged not ours are read again (about
// once a minute at the rescan interval), so a process that exec'd into
// nightshift, or a reused pid, is not missed for longer than that.
constexpr std::size_t kScansPerFullCheck = 12;

}  // namespace

OwnProcesses::OwnProcesses(std::string proc_root, std::string name)
    : proc_root_(std::move(proc_root)),
      name_(std::move(name)),
      ticks_per_s_(::sysconf(_SC_CLK_TCK)),
      page_bytes_(::sysconf(_SC_PAGESIZE)) {}

void OwnProcesses::sample(int64_t mono_ns, std::vector<ProcessUsage>& out) {
  if (last_scan_ns_ < 0 || mono_ns - last_scan_ns_ >= kRescanNs) {
    last_scan_ns_ = mono_ns;
    rescan();
  }
  out.reserve(out.size() + processes_.size());
  for (auto it = processes_.begin(); it != processes_.end();) {
    auto text = it->stat.read();
    auto stat = text ? parse_process_stat(*text) : Result<ProcessStat>(text.take_error());
    if (!stat) {  // the process has gone (ESRCH) or its stat is unreadable
      it = processes_.erase(it);
      continue;
    }
    ProcessUsage usage;
    usage.pid = it->pid;
    usage.name = stat->comm;
    usage.rss_bytes = stat->rss_pages * static_cast<uint64_t>(page_bytes_);
    if (it->mono_ns >= 0 && mono_ns > it->mono_ns && stat->cpu_ticks >= it->cpu_ticks) {
      double cpu_s =
          static_cast<double>(stat->cpu_ticks - it->cpu_ticks) / static_cast<double>(ticks_per_s_);
      usage.cpu_pct = 100.0 * cpu_s / (static_cast<double>(mono_ns - it->mono_ns) / 1e9);
    }
    it->cpu_ticks = stat->cpu_ticks;
    it->mono_ns = mono_ns;
    out.push_back(std::move(usage));
    ++it;
  }
}

std::vector<pid_t> OwnProcesses::list_pids() {
  std::vector<pid_t> pids;
  DIR* dir = ::opendir(proc_root_.c_str());
  if (dir == nullptr) {
    last_error_ = proc_root_ + ": " + std::strerror(errno);
    return pids;
  }
  while (dirent* entry = ::readdir(dir)) {
    const char* name = entry->d_name;
    const char* end = name + std::strlen(name);
    pid_t pid = 0;
    auto [ptr, ec] = std::from_chars(name, end, pid);
    if (ec == std::errc() && ptr == end && pid > 0) pids.push_back(pid);
  }
  ::closedir(dir);
  std::sort(pids.begin(), pids.end());
  return pids;
}

bool OwnProcesses::is_ours(pid_t pid, KernelFile& stat) {
  auto file = KernelFile::open(proc_root_ + "/" + std::to_string(pid) + "/stat");
  if (!file) return false;  // gone since the listing
  auto text = file->read();
  if (!text) return false;
  auto parsed = parse_process_stat(*text);
  if (!parsed || !parsed->comm.starts_with(name_)) return false;
  stat = std::move(*file);
  return true;
}

void OwnProcesses::rescan() {
  bool full_check = scans_ % kScansPerFullCheck == 0;
  ++scans_;
  std::vector<pid_t> pids = list_pids();
  std::vector<Process> processes;
  std::vector<pid_t> others;
  auto known = processes_.begin();
  for (pid_t pid : pids) {
    while (known != processes_.end() && known->pid < pid) ++known;  // gone
    if (known != processes_.end() && known->pid == pid) {
      processes.push_back(std::move(*known));
      continue;
    }
    if (!full_check && std::binary_search(others_.begin(), others_.end(), pid)) {
      others.push_back(pid);
      continue;
    }
    Process process;
    process.pid = pid;
    if (is_ours(pid, process.stat))
      processes.push_back(std::move(process));
    else
      others.push_back(pid);
  }
  processes_ = std::move(processes);
  others_ = std::move(others);
}

}  // namespace nightshift::telemetry
