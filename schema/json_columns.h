// The results database's JSON columns (params, metrics, gates, per-fold
// metrics), written directly into one string per column: building an
// nlohmann::json tree first (a map node per key) was the largest cost of a
// committed result. The text is what nlohmann would write for the same maps.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "schema/job_messages.h"

namespace nightshift {

// {"key":number,...}: numbers as shortest round-trip text with ".0" kept on
// integral values (they read back as floating point); non-finite ones null.
std::string json_object_text(const std::map<std::string, double>& map);
// {"key":"text",...}
std::string json_object_text(const std::map<std::string, std::string>& map);
// [{"metrics":{...},"test_rows":N,"train_rows":N}, ...]: keys in nlohmann's order.
std::string folds_json_text(const std::vector<FoldMetrics>& folds);

}  // namespace nightshift
