// Times as users and files write them, to seconds since the Unix epoch (UTC).
#pragma once

#include <cstdint>
#include <string>

#include "schema/result.h"

namespace nightshift::fetcher {

// Accepts "1704067200" (epoch seconds; 13 digits = ms, 16 = us, 19 = ns),
// "2024-01-01", "2024-01-01T12:30", "2024-01-01 12:30:15", with an optional
// "Z" or "+HH:MM"/"-HH:MM" offset. Without an offset the time is read as
// `default_offset_s` east of UTC (0 = UTC).
Result<int64_t> parse_time(const std::string& text, int64_t default_offset_s = 0);

// "2024-01-01T00:00:00Z".
std::string format_time(int64_t ts);

}  // namespace nightshift::fetcher
