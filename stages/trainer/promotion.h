// Promotion gates judged on holdout metrics: min AUC, max Brier, min
// accuracy, and max_auc_p_value (the AUC must be unlikely by chance on a
// holdout of this size; needs the "auc_p_value" metric run_final adds).
#pragma once

#include <map>
#include <string>

#include "config/config.h"

namespace nightshift::trainer {

struct GateVerdict {
  std::map<std::string, std::string> gates;  // gate -> "pass" / "fail: ..."
  bool passed = false;  // every per-study gate passed: a candidate for the run's FDR decision
};

GateVerdict judge_gates(const std::map<std::string, double>& holdout_metrics,
                        const config::PromotionGates& gates);

}  // namespace nightshift::trainer
