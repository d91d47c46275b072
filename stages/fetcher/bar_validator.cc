#include "stages/fetcher/bar_validator.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace nightshift::fetcher {
namespace {

constexpr std::size_t kMaxExamples = 5;

void note(ValidationReport& report, std::string text) {
  if (report.examples.size() < kMaxExamples) report.examples.push_back(std::move(text));
}

bool positive(double x) { return std::isfinite(x) && x > 0; }

// Returns the problem with row i, or empty if it is acceptable (maybe after repair).
std::string check_row(Bars& b, std::size_t i, bool& repaired) {
  const std::string at = "bar ts=" + std::to_string(b.ts[i]) + ": ";
  if (!positive(b.open[i]) || !positive(b.high[i]) || !positive(b.low[i]) || !positive(b.close[i])) {
    return at + "price missing, NaN or not positive";
  }
  if (!std::isfinite(b.volume[i]) || b.volume[i] < 0) return at + "volume NaN or negative";
  if (b.high[i] < b.low[i]) return at + "high < low";
  double hi = std::max({b.open[i], b.high[i], b.close[i]});
  double lo = std::min({b.open[i], b.low[i], b.close[i]});
  repaired = hi != b.high[i] || lo != b.low[i];
  b.high[i] = hi;
  b.low[i] = lo;
  return {};
}

Bars take_rows(const Bars& b, const std::vector<std::size_t>& rows) {
  Bars out;
  out.ts.reserve(rows.size());
  for (std::size_t i : rows) {
    out.ts.push_back(b.ts[i]);
    out.open.push_back(b.open[i]);
    out.high.push_back(b.high[i]);
    out.low.push_back(b.low[i]);
    out.close.push_back(b.close[i]);
    out.volume.push_back(b.volume[i]);
  }
  return out;
}

}  // namespace

std::string ValidationReport::summary() const {
  return std::to_string(rows_in) + " in, " + std::to_string(rows_kept) + " kept, " +
         std::to_string(rejected) + " rejected, " + std::to_string(repaired) + " repaired, " +
         std::to_string(reordered) + " reordered, " + std::to_string(duplicates) +
         " duplicates, " + std::to_string(gaps) + " gaps";
}

ValidationReport validate_bars(Bars& bars, int64_t timeframe_s) {
  ValidationReport report;
  report.rows_in = bars.size();
  std::vector<std::size_t> keep;
  keep.reserve(bars.size());
  for (std::size_t i = 0; i < bars.size(); ++i) {
    bool repaired = false;
    std::string problem = check_row(bars, i, repaired);
    if (!problem.empty()) {
      ++report.rejected;
      note(report, problem);
      continue;
    }
    if (repaired) ++report.repaired;
    keep.push_back(i);
  }
  for (std::size_t k = 1; k < keep.size(); ++k) {
    if (bars.ts[keep[k]] < bars.ts[keep[k - 1]]) ++report.reordered;
  }
  // Stable sort keeps arrival order among equal ts, so "last wins" below holds.
  std::stable_sort(keep.begin(), keep.end(),
                   [&](std::size_t a, std::size_t b) { return bars.ts[a] < bars.ts[b]; });
  std::vector<std::size_t> unique;
  unique.reserve(keep.size());
  for (std::size_t i : keep) {
    if (!unique.empty() && bars.ts[unique.back()] == bars.ts[i]) {
      ++report.duplicates;
      note(report, "bar ts=" + std::to_string(bars.ts[i]) + ": duplicate, later row kept");
      unique.back() = i;
      continue;
    }
    unique.push_back(i);
  }
  for (std::size_t k = 1; k < unique.size(); ++k) {
    if (bars.ts[unique[k]] - bars.ts[unique[k - 1]] > timeframe_s) ++report.gaps;
  }
  if (unique.size() != bars.size() || report.reordered > 0) bars = take_rows(bars, unique);
  report.rows_kept = bars.size();
  return report;
}

}  // namespace nightshift::fetcher
