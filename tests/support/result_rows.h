// Test support for what the results database stores: a fresh database path
// and a plausible JobResult of run "r1" (a final fit, trial < 0, carries a
// promotion, gates and an artifact path).
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "schema/job_messages.h"

namespace nightshift::testing {

// A path for a new results database in a fresh temporary folder.
inline std::string temp_results_db() {
  char dir[] = "/tmp/nightshift-results-XXXXXX";
  if (mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
  return std::string(dir) + "/nightshift.db";
}

inline JobResult sample_result(const std::string& study, int64_t trial, uint32_t attempt = 1,
                               ResultStatus status = ResultStatus::ok) {
  JobResult r;
  r.key = JobKey{"r1", study, trial};
  r.attempt = attempt;
  r.status = status;
  r.reason = status == ResultStatus::ok ? "" : "boom";
  r.worker = "host/1";
  r.params = {{"C", 0.5}};
  r.metrics = {{"auc", 0.6}};
  r.folds = {FoldMetrics{{{"auc", 0.61}}, 100, 20}};
  r.wall_s = 1.5;
  if (trial < 0) {
    r.promoted = true;
    r.gates = {{"min_auc", "pass"}};
    r.artifact_path = "models/x.bin";
  }
  return r;
}

}  // namespace nightshift::testing
