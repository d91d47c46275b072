// Rates from monotonically increasing device counters: power from an energy
// counter, busy percent from an active-time counter. A rate needs two
// readings; the first reading, a zero time step and a counter that went
// backwards (wrap, device reset) give no value rather than a wrong one.
#pragma once

#include <cstdint>
#include <optional>

#include "schema/result.h"

namespace nightshift::telemetry {

struct CounterReading {
  uint64_t value = 0;         // energy in µJ, or active time in µs
  uint64_t timestamp_us = 0;  // when the device took the reading
};

// Watts from two energy readings in microjoules: ΔµJ / Δµs.
Result<double> power_w_from_energy(const CounterReading& before, const CounterReading& after);

// Busy percent from two active-time readings (µs active over µs elapsed),
// clamped to [0, 100].
Result<double> busy_pct_from_activity(const CounterReading& before, const CounterReading& after);

// Remembers the previous reading of one counter and turns the next one into a
// rate with `derive`.
class CounterRate {
 public:
  using Derive = Result<double> (*)(const CounterReading&, const CounterReading&);
  explicit CounterRate(Derive derive) : derive_(derive) {}

  // The rate since the previous reading, or why there is none.
  Result<double> update(const CounterReading& reading);

 private:
  Derive derive_;
  std::optional<CounterReading> previous_;
};

}  // namespace nightshift::telemetry
