// ConfigEditor: the `nightshift config create|optimize|add-symbol|
// set-timeframes|set-thresholds` edits. Each edit loads the YAML file,
// changes keys, validates the result with the real loader and only then
// replaces the file (write to a temporary, rename), so a bad edit never
// leaves a broken config behind. yaml-cpp does not keep comments: an edited
// file loses them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/result.h"

namespace nightshift::config {

// Writes a starter config (the night-run keys users edit most). Refuses to
// overwrite an existing file unless `force`.
Status create_config_file(const std::string& path, bool force);

Status add_symbol(const std::string& path, const std::string& symbol);
Status set_timeframes(const std::string& path, const std::vector<std::string>& timeframes);

struct GateEdit {
  std::optional<double> min_auc, max_brier, min_acc, max_auc_p_value;
};
Status set_thresholds(const std::string& path, const GateEdit& gates);

// What `optimize` picks for a machine, and why.
struct MachinePlan {
  int workers = 1;
  double memory_per_process_gb = 1.0;
  std::string reason;
};
// One worker per core less one (the other stages need a core); memory: 80 %
// of RAM shared by the workers and ~2 processes' worth for the other stages,
// capped at 8 GB per worker.
MachinePlan plan_for_machine(int cores, uint64_t ram_bytes);
Status apply_machine_plan(const std::string& path, const MachinePlan& plan);

}  // namespace nightshift::config
