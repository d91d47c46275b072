// Reads OHLCV bars from a CSV file for `nightshift predict --csv`:
// a header naming ts, open, high, low, close, volume (any order; ts in
// seconds since epoch), then one bar per line, oldest first.
#pragma once

#include <string>

#include "schema/data_messages.h"
#include "schema/result.h"

namespace nightshift::trainer {

Result<Bars> read_bars_csv(const std::string& path);

}  // namespace nightshift::trainer
