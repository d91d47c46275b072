#include "stages/trainer/promotion.h"

#include <cmath>

#include <fmt/format.h>

namespace nightshift::trainer {
namespace {

std::string verdict(double value, double bound, bool at_least) {
  bool pass = std::isfinite(value) && (at_least ? value >= bound : value <= bound);
  if (pass) return "pass";
  return fmt::format("fail: {:.4f} {} {:.4f}", value, at_least ? "<" : ">", bound);
}

double metric(const std::map<std::string, double>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? NAN : it->second;
}

}  // namespace

GateVerdict judge_gates(const std::map<std::string, double>& holdout_metrics,
                        const config::PromotionGates& gates) {
  GateVerdict v;
  v.gates["min_auc"] = verdict(metric(holdout_metrics, "auc"), gates.min_auc, true);
  v.gates["max_brier"] = verdict(metric(holdout_metrics, "brier"), gates.max_brier, false);
  v.gates["min_acc"] = verdict(metric(holdout_metrics, "accuracy"), gates.min_acc, true);
  v.gates["max_auc_p_value"] =
      verdict(metric(holdout_metrics, "auc_p_value"), gates.max_auc_p_value, false);
  v.passed = true;
  for (const auto& [gate, result] : v.gates) v.passed = v.passed && result == "pass";
  return v;
}

}  // namespace nightshift::trainer
