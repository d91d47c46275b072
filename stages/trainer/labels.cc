#include "stages/trainer/labels.h"

#include <cmath>

namespace nightshift::trainer {

std::vector<double> make_labels(const std::vector<double>& close, std::size_t horizon) {
  std::vector<double> labels;
  if (horizon == 0 || close.size() <= horizon) return labels;
  labels.resize(close.size() - horizon);
  for (std::size_t t = 0; t < labels.size(); ++t) {
    labels[t] = std::log(close[t + horizon] / close[t]) > 0 ? 1.0 : 0.0;
  }
  return labels;
}

}  // namespace nightshift::trainer
