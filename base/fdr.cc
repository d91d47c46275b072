#include "base/fdr.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace nightshift {

std::vector<double> benjamini_hochberg(const std::vector<double>& p_values) {
  std::vector<double> q(p_values.size(), std::numeric_limits<double>::quiet_NaN());
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < p_values.size(); ++i) {
    if (std::isfinite(p_values[i])) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return p_values[a] < p_values[b]; });
  const double m = static_cast<double>(order.size());
  double running = 1.0;  // the minimum over ranks >= i, walking down from the largest
  for (std::size_t rank = order.size(); rank-- > 0;) {
    const double p = std::clamp(p_values[order[rank]], 0.0, 1.0);
    running = std::min(running, p * m / static_cast<double>(rank + 1));
    q[order[rank]] = running;
  }
  return q;
}

}  // namespace nightshift
