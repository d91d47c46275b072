#include "stages/fetcher/bar_validator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <tuple>

namespace nightshift::fetcher {
namespace {

TEST(BarValidator, CleanBarsPassUntouched) {
  Bars b;
  b.push_back({0, 1, 2, 0.5, 1.5, 10});
  b.push_back({60, 1.5, 2, 1, 1.8, 10});
  auto report = validate_bars(b, 60);
  EXPECT_EQ(report.rows_kept, 2u);
  EXPECT_EQ(report.rejected + report.repaired + report.duplicates + report.gaps + report.reordered, 0u);
}

TEST(BarValidator, EachRuleIsCounted) {
  Bars b;
  b.push_back({120, 1, 2, 0.5, 1.5, 10});
  b.push_back({0, 1, 2, 0.5, 1.5, 10});            // out of order: sorted
  b.push_back({60, 1, 2, 0.5, std::nan(""), 10});  // NaN: rejected
  b.push_back({60, -1, 2, 0.5, 1, 10});            // negative: rejected
  b.push_back({180, 1, 0.5, 2, 1, 10});            // high < low: rejected
  b.push_back({240, 1, 1.2, 0.9, 1.5, 10});        // close above high: repaired
  b.push_back({240, 1, 1.6, 0.9, 1.5, 20});        // duplicate ts: this later row wins
  b.push_back({600, 1, 2, 0.5, 1.5, 10});          // gap
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

// Pages validated one by one (as the pipelined ingest does) and stored in
// arrival order with "later row replaces" give the same rows and the same
// counts as validating the concatenated range at once.
TEST(BarValidator, PageByPageEqualsTheWholeRange) {
  using Row = std::tuple<double, double, double, double, double>;
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    Bars all;
    const int rows = 1 + static_cast<int>(rng() % 200);
    for (int i = 0; i < rows; ++i) {
      // Mostly ascending with holes, some repeats and some rows from the past.
      int64_t ts = (i + static_cast<int64_t>(rng() % 3)) * 60;
      if (rng() % 10 == 0) ts = static_cast<int64_t>(rng() % (i + 1)) * 60;
      double o = 1 + static_cast<double>(rng() % 100), c = 1 + static_cast<double>(rng() % 100);
      double h = std::max(o, c) + static_cast<double>(rng() % 3) - 1;  // sometimes needs repair
      double l = std::min(o, c) - static_cast<double>(rng() % 2);
      double v = rng() % 25 == 0 ? -1.0 : static_cast<double>(rng() % 1000);  // sometimes rejected
      if (rng() % 40 == 0) o = std::nan("");
      all.push_back({ts, o, h, l, c, v});
    }
    // Split at random points.
    std::vector<Bars> pages(1);
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (i > 0 && rng() % 8 == 0) pages.emplace_back();
      pages.back().push_back(all.row(i));
    }
    Bars whole = all;
    ValidationReport expected = validate_bars(whole, 60);

    BarValidator validator(60);
    std::map<int64_t, Row> stored;  // INSERT OR REPLACE, page after page
    for (Bars& page : pages) {
      validator.add(page);
      ASSERT_TRUE(std::is_sorted(page.ts.begin(), page.ts.end()));
      for (std::size_t i = 0; i < page.size(); ++i) {
        stored[page.ts[i]] = {page.open[i], page.high[i], page.low[i], page.close[i], page.volume[i]};
      }
    }
    ValidationReport got = validator.finish();
    EXPECT_EQ(got.rows_in, expected.rows_in);
    EXPECT_EQ(got.rows_kept, expected.rows_kept);
    EXPECT_EQ(got.rejected, expected.rejected);
    EXPECT_EQ(got.repaired, expected.repaired);
    EXPECT_EQ(got.reordered, expected.reordered);
    EXPECT_EQ(got.duplicates, expected.duplicates);
    EXPECT_EQ(got.gaps, expected.gaps);
    ASSERT_EQ(stored.size(), whole.size());
    std::size_t i = 0;
    for (const auto& [ts, row] : stored) {
      ASSERT_EQ(ts, whole.ts[i]);
      EXPECT_EQ(row, Row(whole.open[i], whole.high[i], whole.low[i], whole.close[i], whole.volume[i]))
          << "ts " << ts;
      ++i;
    }
    if (::testing::Test::HasFailure()) break;
  }
}

}  // namespace
}  // namespace nightshift::fetcher
