// Test side of the fake vendor libraries (tests/fakes/): where they are, a
// scenario (the script a fake answers from, pointed at by its environment
// variable for the scenario's lifetime), and the contract every sample keeps.
#pragma once

#include <string>

#include "schema/telemetry_messages.h"

namespace nightshift::telemetry::testing {

// The ASan build of a fake, e.g. fake_library("libnvidia-ml.so.1").
std::string fake_library(const std::string& file_name);

class FakeScenario {
 public:
  // env_var: NIGHTSHIFT_FAKE_NVML, NIGHTSHIFT_FAKE_ROCM or NIGHTSHIFT_FAKE_LEVEL_ZERO.
  FakeScenario(std::string env_var, const std::string& script);
  ~FakeScenario();
  FakeScenario(const FakeScenario&) = delete;
  FakeScenario& operator=(const FakeScenario&) = delete;

 private:
  std::string env_var_;
  std::string path_;
};

// Every measured field of `sample` is either set or has a reason in
// `unavailable`, never both and never neither.
void expect_every_field_set_or_explained(const GpuSample& sample);

// The reason given for `field`, or "" if none.
std::string reason(const GpuSample& sample, const std::string& field);

}  // namespace nightshift::telemetry::testing
