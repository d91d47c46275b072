#include "stages/telemetry/kernel_file.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "stages/telemetry/proc_files.h"

namespace nightshift::telemetry {
namespace {

namespace fs = std::filesystem;

std::string temp_file(const std::string& name) {
  return (fs::temp_directory_path() /
          ("nightshift-kernel-file-" + name + "-" + std::to_string(::getpid())))
      .string();
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string read_once(KernelFile& file) {
  auto text = file.read();
  EXPECT_TRUE(text.ok()) << text.error();
  return text ? std::string(*text) : std::string();
}

TEST(KernelFile, RereadShowsContentsRewrittenInPlace) {
  std::string path = temp_file("rewrite");
  write(path, "one\n");
  auto file = KernelFile::open(path);
  ASSERT_TRUE(file.ok()) << file.error();
  EXPECT_EQ(read_once(*file), "one\n");
  EXPECT_EQ(read_once(*file), "one\n");  // a second read starts at 0 again
  write(path, "a longer second text\n");
  EXPECT_EQ(read_once(*file), "a longer second text\n");
  write(path, "x");  // shorter: nothing of the old text may remain
  EXPECT_EQ(read_once(*file), "x");
  write(path, "");
  EXPECT_EQ(read_once(*file), "");
  fs::remove(path);
}

TEST(KernelFile, FileLargerThanTheFirstBufferIsReadWhole) {
  std::string path = temp_file("large");
  std::string big(10'000, 'a');
  big += "end\n";
  write(path, big);
  auto file = KernelFile::open(path);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(read_once(*file), big);
  std::string exactly(8192, 'b');  // fills the grown buffer: must grow again
  write(path, exactly);
  EXPECT_EQ(read_once(*file), exactly);
  write(path, "small again\n");
  EXPECT_EQ(read_once(*file), "small again\n");
  fs::remove(path);
}

TEST(KernelFile, MissingFileIsAnErrorNamingIt) {
  auto file = KernelFile::open("/nonexistent-dir/meminfo");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().find("/nonexistent-dir/meminfo"), std::string::npos);
  KernelFile closed;
  EXPECT_FALSE(closed.is_open());
  EXPECT_FALSE(closed.read().ok());
}

TEST(KernelFile, MovedFileKeepsReading) {
  std::string path = temp_file("move");
  write(path, "moved\n");
  auto opened = KernelFile::open(path);
  ASSERT_TRUE(opened.ok());
  KernelFile file = std::move(*opened);
  EXPECT_FALSE(opened->is_open());
  EXPECT_EQ(read_once(file), "moved\n");
  KernelFile other;
  other = std::move(file);
  EXPECT_EQ(read_once(other), "moved\n");
  EXPECT_EQ(other.path(), path);
  fs::remove(path);
}

// The kernel regenerates a /proc file on each read from offset 0, so one open
// descriptor follows a value that changes: here this thread's name.
TEST(KernelFile, KeptOpenProcFileFollowsTheKernel) {
  char original[16] = {};
  ASSERT_EQ(pthread_getname_np(pthread_self(), original, sizeof original), 0);
  auto file = KernelFile::open("/proc/thread-self/comm");
  ASSERT_TRUE(file.ok()) << file.error();
  ASSERT_EQ(pthread_setname_np(pthread_self(), "ns-kf-first"), 0);
  EXPECT_EQ(read_once(*file), "ns-kf-first\n");
  ASSERT_EQ(pthread_setname_np(pthread_self(), "ns-kf-second"), 0);
  EXPECT_EQ(read_once(*file), "ns-kf-second\n");
  pthread_setname_np(pthread_self(), original);
}

// A kept /proc/<pid>/stat belongs to that process: once it has been reaped,
// reads fail instead of showing whatever process gets the pid next.
TEST(KernelFile, ProcessStatFailsOnceTheProcessHasGone) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::prctl(PR_SET_NAME, "ns-kf-child");
    ::pause();
    ::_exit(0);
  }
  auto file = KernelFile::open("/proc/" + std::to_string(child) + "/stat");
  ASSERT_TRUE(file.ok()) << file.error();
  auto first = file->read();
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_TRUE(parse_process_stat(*first).ok());
  ::kill(child, SIGKILL);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  auto after = file->read();
  ASSERT_FALSE(after.ok());
  EXPECT_NE(after.error().find("/proc/" + std::to_string(child) + "/stat"), std::string::npos);
}

}  // namespace
}  // namespace nightshift::telemetry
