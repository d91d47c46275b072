#include "stages/telemetry/host_sampler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "stages/telemetry/proc_files.h"
#include "stages/telemetry/text_file.h"

namespace nightshift::telemetry {
namespace {

namespace fs = std::filesystem;

std::string fixture(const std::string& name) {
  return std::string(TELEMETRY_FIXTURES) + "/" + name;
}

TEST(ProcFiles, StatAggregateLine) {
  auto t = parse_proc_stat(*read_text_file(fixture("proc/stat")));
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t->busy, 1000u + 50 + 300 + 20 + 30 + 0);
  EXPECT_EQ(t->total, t->busy + 8000 + 100);
}

TEST(ProcFiles, MalformedStatIsAnError) {
  EXPECT_FALSE(parse_proc_stat("intr 1 2 3\n").ok());
  auto short_line = parse_proc_stat("cpu 1 2 3\n");
  ASSERT_FALSE(short_line.ok());
  EXPECT_NE(short_line.error().find("fewer than 8"), std::string::npos);
}

TEST(ProcFiles, MalformedNumbersAreErrors) {
  EXPECT_FALSE(parse_proc_stat("cpu  1 2 3 4 5 6 7 8x\n").ok());
  EXPECT_FALSE(
      parse_proc_stat("cpu  1 2 3 4\ncpu0 5 6 7 8 9 10 11 12\n").ok());  // not across lines
  EXPECT_FALSE(parse_meminfo("MemTotal: lots kB\nMemAvailable: 1 kB\n").ok());
  EXPECT_FALSE(parse_loadavg("0.5 0.4").ok());
  EXPECT_FALSE(
      parse_process_stat("12 (x) R 1 1 1 0 -1 0 0 0 0 0 7o 30 0 0 20 0 1 0 5 1000 42 0").ok());
}

TEST(ProcFiles, MeminfoLinesInAnyOrder) {
  auto mem = parse_meminfo("MemAvailable:  2 kB\nMemFree: 1 kB\nMemTotal:  8 kB");  // no final \n
  ASSERT_TRUE(mem.ok()) << mem.error();
  EXPECT_EQ(mem->total_bytes, 8u * 1024);
  EXPECT_EQ(mem->available_bytes, 2u * 1024);
}

TEST(ProcFiles, CpuPercentFromDeltas) {
  auto pct = cpu_busy_pct({100, 1000}, {150, 1200});
  ASSERT_TRUE(pct.ok());
  EXPECT_DOUBLE_EQ(*pct, 25.0);
  EXPECT_FALSE(cpu_busy_pct({100, 1000}, {100, 1000}).ok());
}

TEST(ProcFiles, MeminfoAndLoadavg) {
  auto mem = parse_meminfo(*read_text_file(fixture("proc/meminfo")));
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ(mem->total_bytes, 16384000ull * 1024);
  EXPECT_EQ(mem->available_bytes, 4096000ull * 1024);
  EXPECT_FALSE(parse_meminfo("MemTotal: 5 kB\n").ok());
  auto load = parse_loadavg(*read_text_file(fixture("proc/loadavg")));
  ASSERT_TRUE(load.ok());
  EXPECT_DOUBLE_EQ(load->load5, 0.41);
  EXPECT_FALSE(parse_loadavg("garbage").ok());
}

TEST(ProcFiles, ProcessStatWithSpacesAndParensInName) {
  auto stat =
      parse_process_stat("12 (evil) name) R 1 1 1 0 -1 0 0 0 0 0 70 30 0 0 20 0 1 0 5 1000 42 0\n");
  ASSERT_TRUE(stat.ok()) << stat.error();
  EXPECT_EQ(stat->comm, "evil) name");
  EXPECT_EQ(stat->cpu_ticks, 100u);
  EXPECT_EQ(stat->rss_pages, 42u);
  EXPECT_FALSE(parse_process_stat("12 (x) R 1 2").ok());
}

TEST(HostSampler, FixtureTreeGivesMemoryLoadAndOwnProcesses) {
  HostSampler sampler(fixture("proc"), {"/"});
  HostSample s;
  sampler.sample(1'000'000'000, s);
  EXPECT_FALSE(s.cpu_pct.has_value());  // needs two readings
  EXPECT_EQ(s.mem_total_bytes, 16384000ull * 1024);
  EXPECT_EQ(s.mem_used_bytes, (16384000ull - 4096000ull) * 1024);
  EXPECT_DOUBLE_EQ(s.load1, 0.52);
  ASSERT_EQ(s.disks.size(), 1u);
  EXPECT_GT(s.disks[0].total_bytes, 0u);
  ASSERT_EQ(s.processes.size(), 1u);  // pid 4242 is nightshift, 777 is bash
  EXPECT_EQ(s.processes[0].pid, 4242);
  EXPECT_EQ(s.processes[0].rss_bytes, 2560u * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)));
}

// The sampler keeps its /proc files open between samples; what it reports
// must still be the files' current contents.
TEST(HostSampler, KeptOpenFilesShowNewValues) {
  fs::path root = fs::temp_directory_path() / ("nightshift-proc-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::copy(fixture("proc"), root, fs::copy_options::recursive);
  HostSampler sampler(root.string(), {});
  HostSample first, second;
  sampler.sample(1'000'000'000, first);
  EXPECT_EQ(first.mem_total_bytes, 16384000ull * 1024);
  std::ofstream(root / "meminfo") << "MemTotal: 2000 kB\nMemAvailable: 500 kB\n";
  std::ofstream(root / "loadavg") << "3.25 2.50 1.75 1/100 999\n";
  // 100 more ticks, 60 of them busy: 60 %.
  std::ofstream(root / "stat") << "cpu  1040 50 320 8040 100 20 30 0 0 0\n";
  sampler.sample(2'000'000'000, second);
  EXPECT_EQ(second.mem_total_bytes, 2000u * 1024);
  EXPECT_EQ(second.mem_used_bytes, 1500u * 1024);
  EXPECT_DOUBLE_EQ(second.load1, 3.25);
  ASSERT_TRUE(second.cpu_pct.has_value());
  EXPECT_DOUBLE_EQ(*second.cpu_pct, 60.0);
  fs::remove_all(root);
}

TEST(HostSampler, CpuPercentOnSecondSampleOfRealProc) {
  HostSampler sampler("/proc", {"/", "/definitely/not/a/mount"});
  HostSample first, second;
  sampler.sample(0, first);
  volatile double sink = 0;
  for (int i = 0; i < 20'000'000; ++i) sink = sink + i;  // let some ticks pass
  ::usleep(50'000);
  sampler.sample(100'000'000, second);
  ASSERT_TRUE(second.cpu_pct.has_value());
  EXPECT_GE(*second.cpu_pct, 0.0);
  EXPECT_LE(*second.cpu_pct, 100.0);
  EXPECT_EQ(second.disks.size(), 1u);  // the missing path is skipped
  EXPECT_NE(sampler.last_error().find("/definitely/not/a/mount"), std::string::npos);
}

TEST(HostSampler, MissingProcRootLeavesDefaultsAndSaysWhy) {
  HostSampler sampler("/nonexistent-proc", {});
  HostSample s;
  sampler.sample(0, s);
  EXPECT_EQ(s.mem_total_bytes, 0u);
  EXPECT_NE(sampler.last_error().find("/nonexistent-proc"), std::string::npos);
}

}  // namespace
}  // namespace nightshift::telemetry
