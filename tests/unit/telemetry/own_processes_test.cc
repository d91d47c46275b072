#include "stages/telemetry/own_processes.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace nightshift::telemetry {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSecondNs = 1'000'000'000;

// A fake /proc holding only pid directories with a stat file each.
class FakeProc {
 public:
  FakeProc() : root_(fs::temp_directory_path() / ("nightshift-own-" + std::to_string(::getpid()))) {
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  ~FakeProc() { fs::remove_all(root_); }
  std::string root() const { return root_.string(); }

  void set(int pid, const std::string& comm, uint64_t utime = 10, uint64_t rss_pages = 100) {
    fs::create_directories(root_ / std::to_string(pid));
    std::ofstream(root_ / std::to_string(pid) / "stat")
        << pid << " (" << comm << ") S 1 1 1 0 -1 0 0 0 0 0 " << utime << " 0 0 0 20 0 1 0 5 1000 "
        << rss_pages << " 0\n";
  }
  void remove(int pid) { fs::remove_all(root_ / std::to_string(pid)); }

 private:
  fs::path root_;
};

std::vector<int64_t> pids_of(OwnProcesses& own, int64_t mono_ns) {
  std::vector<ProcessUsage> usage;
  own.sample(mono_ns, usage);
  std::vector<int64_t> pids;
  for (const auto& u : usage) pids.push_back(u.pid);
  return pids;
}

TEST(OwnProcesses, FindsProcessesByNamePrefixInPidOrder) {
  FakeProc proc;
  proc.set(300, "nightshift");
  proc.set(20, "nightshift-wor");
  proc.set(100, "bash");
  OwnProcesses own(proc.root(), "nightshift");
  EXPECT_EQ(pids_of(own, 0), (std::vector<int64_t>{20, 300}));
}

TEST(OwnProcesses, CpuAndRssFromKeptStatFiles) {
  FakeProc proc;
  proc.set(42, "nightshift", 100, 256);
  OwnProcesses own(proc.root(), "nightshift");
  std::vector<ProcessUsage> first, second;
  own.sample(0, first);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].cpu_pct, 0.0);  // needs two readings
  EXPECT_EQ(first[0].rss_bytes, 256u * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)));
  long ticks = ::sysconf(_SC_CLK_TCK);
  proc.set(42, "nightshift", 100 + static_cast<uint64_t>(ticks) / 2, 512);  // 0.5 s of CPU
  own.sample(kSecondNs, second);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NEAR(second[0].cpu_pct, 50.0, 1e-9);
  EXPECT_EQ(second[0].rss_bytes, 512u * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)));
}

TEST(OwnProcesses, NewAndGoneProcessesShowAtTheNextRescan) {
  FakeProc proc;
  proc.set(10, "nightshift");
  OwnProcesses own(proc.root(), "nightshift");
  EXPECT_EQ(pids_of(own, 0), (std::vector<int64_t>{10}));
  proc.set(11, "nightshift");
  EXPECT_EQ(pids_of(own, kSecondNs), (std::vector<int64_t>{10}));  // not scanned yet
  EXPECT_EQ(own.scans(), 1u);
  EXPECT_EQ(pids_of(own, 5 * kSecondNs), (std::vector<int64_t>{10, 11}));
  EXPECT_EQ(own.scans(), 2u);
  proc.remove(10);
  EXPECT_EQ(pids_of(own, 10 * kSecondNs), (std::vector<int64_t>{11}));
}

// A pid judged not ours is not read at every rescan; the periodic full check
// still catches one that has since become a nightshift process.
TEST(OwnProcesses, OtherPidsAreRecheckedOnlyByTheFullCheck) {
  FakeProc proc;
  proc.set(10, "nightshift");
  proc.set(20, "bash");
  OwnProcesses own(proc.root(), "nightshift");
  EXPECT_EQ(pids_of(own, 0), (std::vector<int64_t>{10}));
  proc.set(20, "nightshift");  // as if it exec'd nightshift
  int64_t t = 0;
  while (own.scans() < 12) {
    t += 5 * kSecondNs;
    EXPECT_EQ(pids_of(own, t), (std::vector<int64_t>{10})) << "scan " << own.scans();
  }
  t += 5 * kSecondNs;  // scan 13 is a full check
  EXPECT_EQ(pids_of(own, t), (std::vector<int64_t>{10, 20}));
}

TEST(OwnProcesses, UnreadableRootSaysWhy) {
  OwnProcesses own("/nonexistent-proc", "nightshift");
  EXPECT_TRUE(pids_of(own, 0).empty());
  EXPECT_NE(own.last_error().find("/nonexistent-proc"), std::string::npos);
}

// On the real /proc: a child named like an own process is found, and drops
// out at the next sample after it exits, without waiting for a rescan.
TEST(OwnProcesses, RealChildIsFoundAndDropsOutWhenReaped) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::prctl(PR_SET_NAME, "ns-own-child");
    char c = 'r';
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);  // named by now
  ::close(ready[0]);
  ::close(ready[1]);
  OwnProcesses own("/proc", "ns-own-child");
  EXPECT_EQ(pids_of(own, 0), (std::vector<int64_t>{child}));
  ::kill(child, SIGKILL);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_TRUE(pids_of(own, kSecondNs).empty());
  EXPECT_EQ(own.scans(), 1u);
}

}  // namespace
}  // namespace nightshift::telemetry
