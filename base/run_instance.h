// The instance token of a supervised night run. `nightshift run` / `resume`
// draws a random token and hands it to every stage it starts through the
// environment (NIGHTSHIFT_INSTANCE); the broker answers `ping` with it and
// each stage checks, before it uses the bus, that the broker it reached is
// its own run's. A stage started by hand has no token and checks nothing.
#pragma once

#include <string>

namespace nightshift {

inline constexpr const char* kInstanceVariable = "NIGHTSHIFT_INSTANCE";

// This process's token: NIGHTSHIFT_INSTANCE, or empty when not set.
std::string run_instance();

// A fresh token: 32 hex digits from the kernel's random source.
std::string new_run_instance();

}  // namespace nightshift
