#include "stages/fetcher/bar_validator.h"

#include <gtest/gtest.h>

#include <cmath>

namespace nightshift::fetcher {
namespace {

void add(Bars& b, int64_t ts, double o, double h, double l, double c, double v) {
  b.ts.push_back(ts);
  b.open.push_back(o);
  b.high.push_back(h);
  b.low.push_back(l);
  b.close.push_back(c);
  b.volume.push_back(v);
}

TEST(BarValidator, CleanBarsPassUntouched) {
  Bars b;
  add(b, 0, 1, 2, 0.5, 1.5, 10);
  add(b, 60, 1.5, 2, 1, 1.8, 10);
  auto report = validate_bars(b, 60);
  EXPECT_EQ(report.rows_kept, 2u);
  EXPECT_EQ(report.rejected + report.repaired + report.duplicates + report.gaps + report.reordered, 0u);
}

TEST(BarValidator, EachRuleIsCounted) {
  Bars b;
  add(b, 120, 1, 2, 0.5, 1.5, 10);
  add(b, 0, 1, 2, 0.5, 1.5, 10);             // out of order: sorted
  add(b, 60, 1, 2, 0.5, std::nan(""), 10);   // NaN: rejected
  add(b, 60, -1, 2, 0.5, 1, 10);             // negative: rejected
  add(b, 180, 1, 0.5, 2, 1, 10);             // high < low: rejected
  add(b, 240, 1, 1.2, 0.9, 1.5, 10);         // close above high: repaired
  add(b, 240, 1, 1.6, 0.9, 1.5, 20);         // duplicate ts: this later row wins
  add(b, 600, 1, 2, 0.5, 1.5, 10);           // gap
  auto r = validate_bars(b, 60);
  EXPECT_EQ(r.rows_in, 8u);
  EXPECT_EQ(r.rejected, 3u);
  EXPECT_EQ(r.repaired, 1u);
  EXPECT_EQ(r.reordered, 1u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.gaps, 3u);  // 0 -> 120 -> 240 -> 600 (60 and 180 were rejected)
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b.ts, (std::vector<int64_t>{0, 120, 240, 600}));
  EXPECT_DOUBLE_EQ(b.volume[2], 20);
  EXPECT_FALSE(r.examples.empty());
}

}  // namespace
}  // namespace nightshift::fetcher
