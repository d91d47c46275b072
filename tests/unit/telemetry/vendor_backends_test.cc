// The vendor libraries are installed on the build machines but there is no
// GPU: each backend must say "unavailable" with the reason, and keep our
// stderr clean (rsmi_init and the Level Zero loader like to print).
#include <dlfcn.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

#include "stages/telemetry/levelzero_backend.h"
#include "stages/telemetry/nvml_backend.h"
#include "stages/telemetry/rocm_backend.h"
#include "stages/telemetry/text_file.h"

namespace nightshift::telemetry {
namespace {

// Runs `fn` with fd 2 sent to a file and returns what was written there.
std::string stderr_of(const std::function<void()>& fn) {
  char path[] = "/tmp/nightshift-stderr-XXXXXX";
  int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  std::fflush(stderr);
  int saved = ::dup(2);
  ::dup2(fd, 2);
  fn();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fd);
  auto text = read_text_file(path);
  ::unlink(path);
  return text ? *text : "<unreadable>";
}

bool library_present(const char* soname) {
  void* handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle != nullptr) ::dlclose(handle);
  return handle != nullptr;
}

bool has_render_node() { return !list_dir("/dev/dri", "renderD").empty(); }

TEST(LevelZeroBackend, LoaderWithoutGpuIsUnavailableQuietly) {
  if (!library_present("libze_loader.so.1")) GTEST_SKIP() << "libze_loader.so.1 not installed";
  if (has_render_node()) GTEST_SKIP() << "this machine has a GPU render node";
  LevelZeroBackend backend;
  Status status;
  std::string err = stderr_of([&] { status = backend.init(); });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().rfind("no device: ", 0), 0u) << status.error();
  EXPECT_TRUE(backend.devices().empty());
  EXPECT_EQ(err, "");
}

TEST(LevelZeroBackend, MissingLoaderIsLibraryMissing) {
  LevelZeroBackend backend("libze_loader-absent.so.1");
  Status status = backend.init();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().rfind("library missing: ", 0), 0u) << status.error();
}

TEST(LevelZeroBackend, ResultCodesAreNamed) {
  EXPECT_NE(ze_result_text(0x70020000).find("DEPENDENCY_UNAVAILABLE"), std::string::npos);
  EXPECT_NE(ze_result_text(0x70010000).find("permission denied"), std::string::npos);
  EXPECT_EQ(ze_result_text(0x12345678), "ze_result_t 0x12345678");
}

TEST(RocmBackend, RsmiWithoutAmdGpuIsUnavailableQuietly) {
  if (!library_present("librocm_smi64.so.1")) GTEST_SKIP() << "librocm_smi64.so.1 not installed";
  if (path_exists("/dev/kfd")) GTEST_SKIP() << "this machine has an AMD compute device";
  RocmBackend backend;
  Status status;
  std::string err = stderr_of([&] { status = backend.init(); });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().rfind("no device: rsmi_init failed: ", 0), 0u) << status.error();
  EXPECT_EQ(err, "");
  backend.shutdown();
}

TEST(NvmlBackend, AbsentDriverIsLibraryMissing) {
  if (library_present("libnvidia-ml.so.1")) GTEST_SKIP() << "NVIDIA driver installed here";
  NvmlBackend backend;
  Status status = backend.init();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().rfind("library missing: ", 0), 0u) << status.error();
  EXPECT_NE(status.error().find("libnvidia-ml.so.1"), std::string::npos);
}

}  // namespace
}  // namespace nightshift::telemetry
