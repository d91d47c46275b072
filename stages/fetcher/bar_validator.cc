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

std::string bar_ts(int64_t ts) { return "bar ts=" + std::to_string(ts) + ": "; }

// Returns the problem with row i (nullptr if it is acceptable, maybe after
// repair). No allocation for good rows: the message is built only for logs.
const char* check_row(Bars& b, std::size_t i, bool& repaired) {
  if (!positive(b.open[i]) || !positive(b.high[i]) || !positive(b.low[i]) || !positive(b.close[i])) {
    return "price missing, NaN or not positive";
  }
  if (!std::isfinite(b.volume[i]) || b.volume[i] < 0) return "volume NaN or negative";
  if (b.high[i] < b.low[i]) return "high < low";
  double hi = std::max({b.open[i], b.high[i], b.close[i]});
  double lo = std::min({b.open[i], b.low[i], b.close[i]});
  repaired = hi != b.high[i] || lo != b.low[i];
  b.high[i] = hi;
  b.low[i] = lo;
  return nullptr;
}

Bars take_rows(const Bars& b, const std::vector<std::size_t>& rows) {
  Bars out;
  out.reserve(rows.size());
  for (std::size_t i : rows) out.push_back(b.row(i));
  return out;
}

}  // namespace

std::string ValidationReport::summary() const {
  return std::to_string(rows_in) + " in, " + std::to_string(rows_kept) + " kept, " +
         std::to_string(rejected) + " rejected, " + std::to_string(repaired) + " repaired, " +
         std::to_string(reordered) + " reordered, " + std::to_string(duplicates) +
         " duplicates, " + std::to_string(gaps) + " gaps";
}

void BarValidator::add(Bars& bars) {
  ValidationReport& report = report_;
  report.rows_in += bars.size();
  std::vector<std::size_t> keep;
  keep.reserve(bars.size());
  for (std::size_t i = 0; i < bars.size(); ++i) {
    bool repaired = false;
    if (const char* problem = check_row(bars, i, repaired); problem != nullptr) {
      ++report.rejected;
      if (report.examples.size() < kMaxExamples) note(report, bar_ts(bars.ts[i]) + problem);
      continue;
    }
    if (repaired) ++report.repaired;
    keep.push_back(i);
  }
  for (std::size_t k = 0; k < keep.size(); ++k) {
    int64_t previous = k > 0 ? bars.ts[keep[k - 1]] : last_arrival_ts_;
    if ((k > 0 || have_last_) && bars.ts[keep[k]] < previous) ++report.reordered;
  }
  if (!keep.empty()) {
    have_last_ = true;
    last_arrival_ts_ = bars.ts[keep.back()];
  }
  // Stable sort keeps arrival order among equal ts, so "last wins" below holds.
  bool sorted = std::is_sorted(keep.begin(), keep.end(), [&](std::size_t a, std::size_t b) {
    return bars.ts[a] < bars.ts[b];
  });
  if (!sorted) {
    std::stable_sort(keep.begin(), keep.end(),
                     [&](std::size_t a, std::size_t b) { return bars.ts[a] < bars.ts[b]; });
  }
  std::vector<std::size_t> unique;
  unique.reserve(keep.size());
  for (std::size_t i : keep) {
    if (!unique.empty() && bars.ts[unique.back()] == bars.ts[i]) {
      ++report.duplicates;
      if (report.examples.size() < kMaxExamples) {
        note(report, bar_ts(bars.ts[i]) + "duplicate, later row kept");
      }
      unique.back() = i;
      continue;
    }
    unique.push_back(i);
  }
  if (unique.size() != bars.size() || !sorted) bars = take_rows(bars, unique);
  // Across pages: a ts seen in an earlier page is a duplicate (this later row
  // replaces it when stored); the common case, a page after all earlier ones,
  // is one comparison.
  if (bars.size() == 0) return;
  if (seen_.empty() || bars.ts.front() > seen_.back()) {
    seen_.insert(seen_.end(), bars.ts.begin(), bars.ts.end());
    return;
  }
  const std::size_t before = seen_.size();
  for (int64_t ts : bars.ts) {
    if (std::binary_search(seen_.begin(), seen_.begin() + static_cast<std::ptrdiff_t>(before), ts)) {
      ++report.duplicates;
      if (report.examples.size() < kMaxExamples) {
        note(report, bar_ts(ts) + "duplicate, later row kept");
      }
    } else {
      seen_.push_back(ts);
    }
  }
  std::inplace_merge(seen_.begin(), seen_.begin() + static_cast<std::ptrdiff_t>(before), seen_.end());
}

ValidationReport BarValidator::finish() const {
  ValidationReport report = report_;
  report.gaps = 0;
  for (std::size_t k = 1; k < seen_.size(); ++k) {
    if (seen_[k] - seen_[k - 1] > timeframe_s_) ++report.gaps;
  }
  report.rows_kept = seen_.size();
  return report;
}

ValidationReport validate_bars(Bars& bars, int64_t timeframe_s) {
  BarValidator validator(timeframe_s);
  validator.add(bars);
  return validator.finish();
}

}  // namespace nightshift::fetcher
