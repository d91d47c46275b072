#include "tests/unit/telemetry/contract/fake_vendor.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <optional>

namespace nightshift::telemetry::testing {

std::string fake_library(const std::string& file_name) {
  return std::string(FAKES_DIR) + "/" + file_name;
}

FakeScenario::FakeScenario(std::string env_var, const std::string& script)
    : env_var_(std::move(env_var)) {
  char path[] = "/tmp/nightshift-fake-XXXXXX";
  int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  ::close(fd);
  path_ = path;
  std::ofstream(path_) << script;
  ::setenv(env_var_.c_str(), path_.c_str(), 1);
}

FakeScenario::~FakeScenario() {
  ::unsetenv(env_var_.c_str());
  ::unlink(path_.c_str());
}

namespace {

template <typename T>
void expect_one(const GpuSample& s, const char* field, const std::optional<T>& value) {
  bool explained = s.unavailable.count(field) > 0;
  EXPECT_NE(value.has_value(), explained)
      << s.backend << " gpu" << s.index << " " << field
      << (explained ? " is set and also unavailable: " + s.unavailable.at(field)
                    : " is neither set nor explained");
}

}  // namespace

void expect_every_field_set_or_explained(const GpuSample& s) {
  expect_one(s, "temp_c", s.temp_c);
  expect_one(s, "temp_junction_c", s.temp_junction_c);
  expect_one(s, "temp_mem_c", s.temp_mem_c);
  expect_one(s, "util_pct", s.util_pct);
  expect_one(s, "mem_used_bytes", s.mem_used_bytes);
  expect_one(s, "mem_total_bytes", s.mem_total_bytes);
  expect_one(s, "sm_clock_mhz", s.sm_clock_mhz);
  expect_one(s, "mem_clock_mhz", s.mem_clock_mhz);
  expect_one(s, "power_w", s.power_w);
  expect_one(s, "energy_j", s.energy_j);
  expect_one(s, "fan_rpm", s.fan_rpm);
  expect_one(s, "fan_pct", s.fan_pct);
  for (const auto& [field, why] : s.unavailable) EXPECT_FALSE(why.empty()) << field;
}

std::string reason(const GpuSample& sample, const std::string& field) {
  auto it = sample.unavailable.find(field);
  return it == sample.unavailable.end() ? "" : it->second;
}

}  // namespace nightshift::telemetry::testing
