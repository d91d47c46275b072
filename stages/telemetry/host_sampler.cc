#include "stages/telemetry/host_sampler.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include "stages/telemetry/text_file.h"

namespace nightshift::telemetry {
namespace {

// Scanning every pid costs more than reading a few; new nightshift processes
// are picked up within this interval.
constexpr int64_t kProcessRescanNs = 5'000'000'000;

bool all_digits(const std::string& name) {
  for (char c : name) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return !name.empty();
}

}  // namespace

HostSampler::HostSampler(std::string proc_root, std::vector<std::string> disks,
                         std::string process_name)
    : proc_root_(std::move(proc_root)),
      disks_(std::move(disks)),
      process_name_(std::move(process_name)),
      ticks_per_s_(::sysconf(_SC_CLK_TCK)),
      page_bytes_(::sysconf(_SC_PAGESIZE)) {}

void HostSampler::sample(int64_t mono_ns, HostSample& out) {
  read_cpu(out);
  read_memory_and_load(out);
  read_disks(out);
  read_processes(mono_ns, out);
}

void HostSampler::read_cpu(HostSample& out) {
  auto text = read_text_file(proc_root_ + "/stat");
  auto times = text ? parse_proc_stat(*text) : Result<CpuTimes>(Error{text.error()});
  if (!times) {
    last_error_ = times.error();
    return;
  }
  if (previous_cpu_) {
    auto pct = cpu_busy_pct(*previous_cpu_, *times);
    if (pct) out.cpu_pct = *pct;
  }
  previous_cpu_ = *times;
}

void HostSampler::read_memory_and_load(HostSample& out) {
  auto text = read_text_file(proc_root_ + "/meminfo");
  auto mem = text ? parse_meminfo(*text) : Result<MemInfo>(Error{text.error()});
  if (mem) {
    out.mem_total_bytes = mem->total_bytes;
    out.mem_available_bytes = mem->available_bytes;
    out.mem_used_bytes =
        mem->total_bytes > mem->available_bytes ? mem->total_bytes - mem->available_bytes : 0;
  } else {
    last_error_ = mem.error();
  }
  auto load_text = read_text_file(proc_root_ + "/loadavg");
  auto load = load_text ? parse_loadavg(*load_text) : Result<LoadAverage>(Error{load_text.error()});
  if (load) {
    out.load1 = load->load1;
    out.load5 = load->load5;
    out.load15 = load->load15;
  } else {
    last_error_ = load.error();
  }
}

void HostSampler::read_disks(HostSample& out) {
  for (const auto& path : disks_) {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) {
      last_error_ = "statvfs " + path + ": " + std::strerror(errno);
      continue;
    }
    DiskUsage disk;
    disk.path = path;
    disk.total_bytes = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
    disk.used_bytes = static_cast<uint64_t>(st.f_blocks - st.f_bfree) * st.f_frsize;
    out.disks.push_back(disk);
  }
}

void HostSampler::rescan_processes(int64_t mono_ns) {
  last_scan_ns_ = mono_ns;
  std::map<pid_t, Tracked> found;
  for (const auto& name : list_dir(proc_root_)) {
    if (!all_digits(name)) continue;
    auto comm = read_text_file(proc_root_ + "/" + name + "/comm");
    if (!comm || comm->compare(0, process_name_.size(), process_name_) != 0) continue;
    pid_t pid = static_cast<pid_t>(std::stol(name));
    auto existing = tracked_.find(pid);
    found[pid] = existing != tracked_.end() ? existing->second : Tracked{0, -1};
  }
  tracked_ = std::move(found);
}

void HostSampler::read_processes(int64_t mono_ns, HostSample& out) {
  if (last_scan_ns_ < 0 || mono_ns - last_scan_ns_ >= kProcessRescanNs) rescan_processes(mono_ns);
  for (auto it = tracked_.begin(); it != tracked_.end();) {
    auto text = read_text_file(proc_root_ + "/" + std::to_string(it->first) + "/stat");
    auto stat = text ? parse_process_stat(*text) : Result<ProcessStat>(Error{text.error()});
    if (!stat) {  // the process has gone
      it = tracked_.erase(it);
      continue;
    }
    ProcessUsage usage;
    usage.pid = it->first;
    usage.name = stat->comm;
    usage.rss_bytes = stat->rss_pages * static_cast<uint64_t>(page_bytes_);
    Tracked& t = it->second;
    if (t.mono_ns >= 0 && mono_ns > t.mono_ns && stat->cpu_ticks >= t.cpu_ticks) {
      double cpu_s =
          static_cast<double>(stat->cpu_ticks - t.cpu_ticks) / static_cast<double>(ticks_per_s_);
      usage.cpu_pct = 100.0 * cpu_s / (static_cast<double>(mono_ns - t.mono_ns) / 1e9);
    }
    t = Tracked{stat->cpu_ticks, mono_ns};
    out.processes.push_back(usage);
    ++it;
  }
}

}  // namespace nightshift::telemetry
