#include "stages/fetcher/csv_source.h"

#include <gtest/gtest.h>

#include "stages/fetcher/time_text.h"

namespace nightshift::fetcher {
namespace {

TEST(CsvSource, HeaderColumnsByNameInAnyOrder) {
  auto bars = parse_bars_csv(
      "Date,Open,High,Low,Close,Adj Close,Volume\n"
      "2024-01-02,187.15,188.44,183.89,185.64,184.73,82488700\n"
      "2024-01-03,184.22,185.88,183.43,184.25,183.35,58414500\n",
      "aapl.csv");
  ASSERT_TRUE(bars.ok()) << bars.error();
  ASSERT_EQ(bars->size(), 2u);
  EXPECT_EQ(bars->ts[0], 1'704'153'600);
  EXPECT_DOUBLE_EQ(bars->close[0], 185.64);  // not Adj Close
  EXPECT_DOUBLE_EQ(bars->volume[1], 58414500);
}

TEST(CsvSource, NoHeaderEpochUnitsAndSemicolons) {
  auto bars = parse_bars_csv(
      "1704067200000;1;2;0.5;1.5;10\n"
      "1704070800;1;2;0.5;1.5\n",
      "x.csv");
  ASSERT_TRUE(bars.ok()) << bars.error();
  ASSERT_EQ(bars->size(), 2u);
  EXPECT_EQ(bars->ts[0], 1'704'067'200);  // milliseconds by digit count
  EXPECT_EQ(bars->ts[1], 1'704'070'800);
  EXPECT_DOUBLE_EQ(bars->volume[1], 0.0);  // volume column absent
}

TEST(CsvSource, TimezonesAndIsoTimes) {
  auto bars = parse_bars_csv(
      "time,open,high,low,close\n"
      "2024-01-02T09:30:00-05:00,1,2,0.5,1.5\n"
      "2024-01-02 14:31Z,1,2,0.5,1.5\n",
      "tz.csv");
  ASSERT_TRUE(bars.ok()) << bars.error();
  EXPECT_EQ(bars->ts[0], 1'704'205'800);
  EXPECT_EQ(bars->ts[1], 1'704'205'860);
}

TEST(CsvSource, ErrorsNameTheLine) {
  auto bad_number = parse_bars_csv("ts,open,high,low,close\n1704067200,1,2,0.5,1.5\n1704070800,1,two,0.5,1.5\n", "f.csv");
  ASSERT_FALSE(bad_number.ok());
  EXPECT_EQ(bad_number.error(), "f.csv:3: column 'high': 'two' is not a number");
  auto bad_time = parse_bars_csv("ts,open,high,low,close\n2024-13-01,1,2,0.5,1.5\n", "f.csv");
  ASSERT_FALSE(bad_time.ok());
  EXPECT_NE(bad_time.error().find("f.csv:2: column 'time'"), std::string::npos) << bad_time.error();
  auto no_close = parse_bars_csv("ts,open,high,low\n", "f.csv");
  ASSERT_FALSE(no_close.ok());
  EXPECT_EQ(no_close.error(), "f.csv:1: header has no 'close' column");
  auto short_row = parse_bars_csv("1704067200,1,2\n", "f.csv");
  ASSERT_FALSE(short_row.ok());
  EXPECT_NE(short_row.error().find("f.csv:1: missing column"), std::string::npos);
}

TEST(CsvSource, MissingFileIsAClearError) {
  CsvSource source("/nonexistent-dir");
  auto bars = source.fetch({"AAPL", "1d", 0, 10}, {});
  ASSERT_FALSE(bars.ok());
  EXPECT_NE(bars.error().find("no file for AAPL 1d"), std::string::npos);
}

TEST(TimeText, ParsesAndFormats) {
  EXPECT_EQ(*parse_time("2024-01-01"), 1'704'067'200);
  EXPECT_EQ(*parse_time("2024-01-01T01:00:00+01:00"), 1'704'067'200);
  EXPECT_EQ(format_time(1'704'067'200), "2024-01-01T00:00:00Z");
  EXPECT_FALSE(parse_time("yesterday").ok());
  EXPECT_FALSE(parse_time("2024-01-01T10:00+5").ok());
}

}  // namespace
}  // namespace nightshift::fetcher
