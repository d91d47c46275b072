// The identity of the code a process runs: what every night run records
// (with its configuration) and `nightshift rerun` compares, so a rerun knows
// whether it may demand bit-identical results.
#pragma once

#include <string>

namespace nightshift {

struct BuildInfo {
  std::string commit;    // git commit of the source tree at build time; "unknown" outside git
  bool dirty = false;    // tracked files differed from that commit
  std::string build_id;  // the binary's GNU build-id (hex): the same binary has the same id
  std::string compiler;  // "GNU 12.2.0"
};

const BuildInfo& build_info();

// Which clone of the trainer's logistic kernels this CPU runs
// (stages/trainer/logistic_kernels.cc compiles them with GCC target_clones
// "arch=x86-64-v3" and "default", picked at load time by the same test):
// "x86-64-v3" or "baseline".
std::string kernel_isa();

}  // namespace nightshift
