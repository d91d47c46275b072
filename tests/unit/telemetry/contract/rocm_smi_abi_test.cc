// The rsmi_frequencies_t decoder on hand-made buffers: each layout read at its
// own offsets, a 1.x library's table recognised whichever layout it wrote, and
// tables no successful call returns rejected.
#include "stages/telemetry/rocm_smi_abi.h"

#include <gtest/gtest.h>

#include <cstring>

namespace nightshift::telemetry::rsmi_abi {
namespace {

FrequencyBuffer v5_table(std::vector<uint64_t> hz, uint32_t current) {
  FrequencyBuffer b;
  rsmi_frequencies_t t{};
  t.num_supported = static_cast<uint32_t>(hz.size());
  t.current = current;
  for (std::size_t i = 0; i < hz.size(); ++i) t.frequency[i] = hz[i];
  std::memcpy(b.bytes, &t, sizeof t);
  return b;
}

FrequencyBuffer v6_table(std::vector<uint64_t> hz, uint32_t current, bool deep_sleep) {
  FrequencyBuffer b;
  FrequenciesV6 t{};
  t.has_deep_sleep = deep_sleep;
  t.num_supported = static_cast<uint32_t>(hz.size());
  t.current = current;
  for (std::size_t i = 0; i < hz.size(); ++i) t.frequency[i] = hz[i];
  std::memcpy(b.bytes, &t, sizeof t);
  return b;
}

TEST(RsmiAbi, LayoutFollowsTheReportedMajorVersion) {
  EXPECT_EQ(layout_for_version(1), Layout::kEither);
  EXPECT_EQ(layout_for_version(5), Layout::kV5);
  EXPECT_EQ(layout_for_version(6), Layout::kV6);
  EXPECT_EQ(layout_for_version(7), Layout::kV6);
}

TEST(RsmiAbi, EachLayoutDecodesEveryTableSizeAndLevel) {
  for (uint32_t n = 1; n <= 32; ++n) {
    std::vector<uint64_t> hz;
    for (uint32_t i = 0; i < n; ++i) hz.push_back(100'000'000ull * (i + 1));
    for (uint32_t current : {0u, n - 1}) {
      for (Layout layout : {Layout::kV5, Layout::kEither}) {
        auto t = decode(v5_table(hz, current), layout);
        ASSERT_TRUE(t.ok()) << n << " " << t.error();
        EXPECT_EQ(t->hz, hz);
        EXPECT_EQ(t->current, current);
      }
      for (bool deep_sleep : {false, true}) {
        for (Layout layout : {Layout::kV6, Layout::kEither}) {
          auto t = decode(v6_table(hz, current, deep_sleep), layout);
          ASSERT_TRUE(t.ok()) << n << " " << t.error();
          EXPECT_EQ(t->hz, hz);
          EXPECT_EQ(t->current, current);
        }
      }
    }
  }
}

TEST(RsmiAbi, TablesNoCallReturnsAreRejected) {
  EXPECT_FALSE(decode(FrequencyBuffer{}, Layout::kEither).ok());  // nothing written
  EXPECT_FALSE(decode(v5_table({1, 2}, 2), Layout::kV5).ok());    // current out of range
  EXPECT_FALSE(decode(v6_table({1, 2}, 5, false), Layout::kV6).ok());
  EXPECT_FALSE(decode(v6_table({5, 6}, 1, true), Layout::kV5).ok());  // wrong layout forced
}

}  // namespace
}  // namespace nightshift::telemetry::rsmi_abi
