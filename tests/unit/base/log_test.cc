// Names from the wire reach the logs escaped: a newline in a topic or a
// symbol must not forge a log line of its own.
#include "base/log.h"

#include <gtest/gtest.h>

#include <string>

namespace nightshift {
namespace {

TEST(Loggable, EveryByteOutsidePrintableAsciiIsWrittenAsHex) {
  EXPECT_EQ(loggable("BTCUSDT job.started.run-1"), "BTCUSDT job.started.run-1");
  EXPECT_EQ(loggable("a\nb"), "a\\x0ab");
  EXPECT_EQ(loggable(std::string("\x00\x1b[31m\x7f\xc2\xb0", 9)), "\\x00\\x1b[31m\\x7f\\xc2\\xb0");
  // A backslash is escaped too, so "\x0a" in a log line always means a byte.
  EXPECT_EQ(loggable("\\x0a"), "\\x5cx0a");
  EXPECT_EQ(loggable(""), "");
}

}  // namespace
}  // namespace nightshift
