// Points in a stored run as the user writes them (--from, --to, seek):
// an offset from the run's first stored event ("90", "90s", "1.5m", "2h",
// "250ms") or an absolute UTC time ("2026-12-03T15:04:05Z", fraction
// allowed, "Z" optional).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "schema/result.h"

namespace nightshift::replay {

// The point in ns since the epoch; an error names the text.
Result<int64_t> resolve_time(std::string_view text, int64_t first_ts_ns);

// "+1:02:03.4" (offset) for progress lines.
std::string format_offset(int64_t offset_ns);

}  // namespace nightshift::replay
