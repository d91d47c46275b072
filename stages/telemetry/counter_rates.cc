#include "stages/telemetry/counter_rates.h"

#include <algorithm>

namespace nightshift::telemetry {
namespace {

Result<std::pair<double, double>> deltas(const CounterReading& before,
                                         const CounterReading& after) {
  if (after.timestamp_us <= before.timestamp_us) {
    return make_error("no time elapsed between readings");
  }
  if (after.value < before.value) return make_error("counter went backwards (wrap or reset)");
  return std::pair{static_cast<double>(after.value - before.value),
                   static_cast<double>(after.timestamp_us - before.timestamp_us)};
}

}  // namespace

Result<double> power_w_from_energy(const CounterReading& before, const CounterReading& after) {
  auto d = deltas(before, after);
  if (!d) return d.take_error();
  return d->first / d->second;  // µJ per µs is J per s
}

Result<double> busy_pct_from_activity(const CounterReading& before, const CounterReading& after) {
  auto d = deltas(before, after);
  if (!d) return d.take_error();
  return std::clamp(100.0 * d->first / d->second, 0.0, 100.0);
}

Result<double> CounterRate::update(const CounterReading& reading) {
  std::optional<CounterReading> before = previous_;
  previous_ = reading;
  if (!before) return make_error("first reading; a rate needs two");
  return derive_(*before, reading);
}

}  // namespace nightshift::telemetry
