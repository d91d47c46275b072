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

// What a backend must report on this machine. The build machines have the
// vendor libraries but no GPU; elsewhere the library may be absent (library
// missing) or a device present (then either it serves devices or it says why
// not). Every case is asserted; none is skipped.
void expect_verdict(const Status& status, bool library, bool device, const std::string& no_device,
                    std::size_t devices) {
  if (!library) {
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().rfind("library missing: ", 0), 0u) << status.error();
  } else if (!device) {
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().rfind(no_device, 0), 0u) << status.error();
    EXPECT_FALSE(status.error().empty());
    EXPECT_EQ(devices, 0u);
  } else if (status.ok()) {
    EXPECT_GT(devices, 0u) << "an available backend serves at least one device";
  } else {
    EXPECT_FALSE(status.error().empty()) << "unavailable must say why";
  }
}

TEST(LevelZeroBackend, LoaderWithoutGpuIsUnavailableQuietly) {
  LevelZeroBackend backend;
  Status status;
  std::string err = stderr_of([&] { status = backend.init(); });
  expect_verdict(status, library_present("libze_loader.so.1"), has_render_node(), "no device: ",
                 backend.devices().size());
  EXPECT_EQ(err, "");
  backend.shutdown();
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
  RocmBackend backend;
  Status status;
  std::string err = stderr_of([&] { status = backend.init(); });
  expect_verdict(status, library_present("librocm_smi64.so.1"), path_exists("/dev/kfd"),
                 "no device: rsmi_init failed: ", backend.devices().size());
  EXPECT_EQ(err, "");
  backend.shutdown();
}

TEST(NvmlBackend, DriverPresenceDecidesTheVerdict) {
  NvmlBackend backend;
  Status status = backend.init();
  bool library = library_present("libnvidia-ml.so.1");
  // With the driver library present a device node is what decides; without
  // one NVML fails in nvmlInit_v2 or finds no GPU, and either must say so.
  expect_verdict(status, library, path_exists("/dev/nvidiactl"), "no device: ",
                 backend.devices().size());
  if (!library) {
    EXPECT_NE(status.error().find("libnvidia-ml.so.1"), std::string::npos);
  }
  backend.shutdown();
}

}  // namespace
}  // namespace nightshift::telemetry
