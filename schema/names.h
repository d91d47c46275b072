// Names that arrive from outside and become keys, topics and file names:
// run ids, study names and symbols. One strict pattern, checked by the
// scheduler when it plans, by workers before they run a job and by the
// persister before it stores a result, so a name like "../x" never reaches
// a path or a row.
#pragma once

#include <string>
#include <string_view>

namespace nightshift {

inline constexpr std::size_t kMaxNameLength = 128;

// [A-Za-z0-9^][A-Za-z0-9._=^-]{0,127} with no "..": real tickers (BTCUSDT,
// ^GSPC, BTC-USD, EURUSD=X, BRK.B), the studies built from them
// (^GSPC.1h.h4.logreg_l2) and run ids (r20261203-132801). No '/', no
// spaces, no control characters.
bool valid_name(std::string_view name);

// "" when `name` is valid; otherwise one line naming `what` and the problem.
std::string name_problem(std::string_view what, std::string_view name);

}  // namespace nightshift
