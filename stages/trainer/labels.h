// Labels for horizon H: 1 when the log return from bar t to bar t+H is > 0,
// else 0. The last H bars have no label.
#pragma once

#include <cstddef>
#include <vector>

#include "schema/data_messages.h"

namespace nightshift::trainer {

// One label per bar that has one: result.size() == bars - H (0 if fewer).
std::vector<double> make_labels(const std::vector<double>& close, std::size_t horizon);

}  // namespace nightshift::trainer
