#include "stages/telemetry/host_sampler.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

namespace nightshift::telemetry {

HostSampler::HostSampler(std::string proc_root, std::vector<std::string> disks,
                         std::string process_name)
    : proc_root_(std::move(proc_root)),
      disks_(std::move(disks)),
      processes_(proc_root_, std::move(process_name)) {}

void HostSampler::sample(int64_t mono_ns, HostSample& out) {
  read_cpu(out);
  read_memory_and_load(out);
  read_disks(out);
  processes_.sample(mono_ns, out.processes);
  if (!processes_.last_error().empty()) last_error_ = processes_.last_error();
}

Result<std::string_view> HostSampler::read_proc(KernelFile& file, const char* name) {
  if (!file.is_open()) {
    auto opened = KernelFile::open(proc_root_ + "/" + name);
    if (!opened) return opened.take_error();
    file = std::move(*opened);
  }
  return file.read();
}

void HostSampler::read_cpu(HostSample& out) {
  auto text = read_proc(stat_, "stat");
  auto times = text ? parse_proc_stat(*text) : Result<CpuTimes>(text.take_error());
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
  auto text = read_proc(meminfo_, "meminfo");
  auto mem = text ? parse_meminfo(*text) : Result<MemInfo>(text.take_error());
  if (mem) {
    out.mem_total_bytes = mem->total_bytes;
    out.mem_available_bytes = mem->available_bytes;
    out.mem_used_bytes =
        mem->total_bytes > mem->available_bytes ? mem->total_bytes - mem->available_bytes : 0;
  } else {
    last_error_ = mem.error();
  }
  auto load_text = read_proc(loadavg_, "loadavg");
  auto load = load_text ? parse_loadavg(*load_text) : Result<LoadAverage>(load_text.take_error());
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

}  // namespace nightshift::telemetry
