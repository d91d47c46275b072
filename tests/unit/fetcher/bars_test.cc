// Bars' row helpers (schema/data_messages.h): every column grows together,
// and slice/append round-trip the rows in order.
#include <gtest/gtest.h>

#include "schema/data_messages.h"

namespace nightshift {
namespace {

Bars three_bars() {
  Bars b;
  b.push_back({.ts = 0, .open = 1, .high = 2, .low = 0.5, .close = 1.5, .volume = 10});
  b.push_back({.ts = 60, .open = 1.5, .high = 3, .low = 1, .close = 2.5, .volume = 20});
  b.push_back({.ts = 120, .open = 2.5, .high = 4, .low = 2, .close = 3.5, .volume = 30});
  return b;
}

void expect_row(const Bars& b, std::size_t i, const Bar& want) {
  Bar got = b.row(i);
  EXPECT_EQ(got.ts, want.ts) << "row " << i;
  EXPECT_EQ(got.open, want.open) << "row " << i;
  EXPECT_EQ(got.high, want.high) << "row " << i;
  EXPECT_EQ(got.low, want.low) << "row " << i;
  EXPECT_EQ(got.close, want.close) << "row " << i;
  EXPECT_EQ(got.volume, want.volume) << "row " << i;
}

TEST(Bars, PushBackFillsEachColumnInFieldOrder) {
  Bars b = three_bars();
  ASSERT_EQ(b.size(), 3u);
  EXPECT_TRUE(b.columns_agree());
  EXPECT_EQ(b.ts, (std::vector<int64_t>{0, 60, 120}));
  EXPECT_EQ(b.open, (std::vector<double>{1, 1.5, 2.5}));
  EXPECT_EQ(b.high, (std::vector<double>{2, 3, 4}));
  EXPECT_EQ(b.low, (std::vector<double>{0.5, 1, 2}));
  EXPECT_EQ(b.close, (std::vector<double>{1.5, 2.5, 3.5}));
  EXPECT_EQ(b.volume, (std::vector<double>{10, 20, 30}));
  expect_row(b, 1, {60, 1.5, 3, 1, 2.5, 20});
}

TEST(Bars, ReserveReachesEveryColumnAndAddsNoRows) {
  Bars b;
  b.reserve(1000);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_GE(b.ts.capacity(), 1000u);
  EXPECT_GE(b.open.capacity(), 1000u);
  EXPECT_GE(b.high.capacity(), 1000u);
  EXPECT_GE(b.low.capacity(), 1000u);
  EXPECT_GE(b.close.capacity(), 1000u);
  EXPECT_GE(b.volume.capacity(), 1000u);
}

TEST(Bars, AppendAddsTheOtherRowsAfterOurs) {
  Bars a = three_bars();
  Bars more;
  more.push_back({180, 3.5, 5, 3, 4.5, 40});
  a.append(more);
  ASSERT_EQ(a.size(), 4u);
  EXPECT_TRUE(a.columns_agree());
  expect_row(a, 2, {120, 2.5, 4, 2, 3.5, 30});
  expect_row(a, 3, {180, 3.5, 5, 3, 4.5, 40});
  a.append(Bars{});
  EXPECT_EQ(a.size(), 4u);
}

TEST(Bars, SlicesAppendedInOrderGiveTheWhole) {
  const Bars whole = three_bars();
  Bars head = whole.slice(0, 1);
  Bars tail = whole.slice(1, 3);
  ASSERT_EQ(head.size(), 1u);
  ASSERT_EQ(tail.size(), 2u);
  expect_row(tail, 0, whole.row(1));
  EXPECT_EQ(whole.slice(2, 2).size(), 0u);
  head.append(tail);
  EXPECT_EQ(head.ts, whole.ts);
  EXPECT_EQ(head.open, whole.open);
  EXPECT_EQ(head.high, whole.high);
  EXPECT_EQ(head.low, whole.low);
  EXPECT_EQ(head.close, whole.close);
  EXPECT_EQ(head.volume, whole.volume);
}

TEST(Bars, ColumnsAgreeCatchesARaggedColumn) {
  Bars b = three_bars();
  b.volume.pop_back();  // as a hostile or broken wire message could arrive
  EXPECT_FALSE(b.columns_agree());
  EXPECT_TRUE(Bars{}.columns_agree());
}

}  // namespace
}  // namespace nightshift
