// The sysfs backend keeps the same contract as the vendor backends: on every
// fixture tree, every field of every sample is set or explained.
#include <gtest/gtest.h>

#include "stages/telemetry/sysfs_backend.h"
#include "tests/unit/telemetry/contract/fake_vendor.h"

namespace nightshift::telemetry {
namespace {

TEST(SysfsContract, EveryFieldSetOrExplainedOnEveryFixture) {
  for (const char* tree : {"sysfs_amdgpu", "sysfs_i915", "sysfs_xe"}) {
    SysfsBackend backend(std::string(TELEMETRY_FIXTURES) + "/" + tree);
    ASSERT_TRUE(backend.init().ok()) << tree;
    for (int64_t t : {1'000'000'000, 2'000'000'000}) {
      GpuSample s;
      backend.refresh(0, t, s);
      SCOPED_TRACE(tree);
      testing::expect_every_field_set_or_explained(s);
    }
  }
}

}  // namespace
}  // namespace nightshift::telemetry
