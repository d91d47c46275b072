#include "stages/replay/run_diff.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

namespace nightshift::replay {
namespace {

constexpr const char* kAbsent = "(absent)";

// The leaves of a JSON document by path: "auc", "[2].metrics.brier".
void flatten(const nlohmann::json& node, const std::string& path,
             std::map<std::string, nlohmann::json>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) flatten(value, path.empty() ? key : path + "." + key, out);
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) flatten(node[i], path + "[" + std::to_string(i) + "]", out);
  } else {
    out[path] = node;
  }
}

std::map<std::string, nlohmann::json> leaves(const std::string& text) {
  std::map<std::string, nlohmann::json> out;
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded()) {
    out[""] = text;  // not JSON: compared as text
  } else {
    flatten(parsed, "", out);
  }
  return out;
}

// Every digit a double has (17 significant), so a difference in the last
// bit shows.
std::string number_text(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", x);
  return text;
}

std::string leaf_text(const nlohmann::json& leaf) {
  if (leaf.is_number()) return number_text(leaf.get<double>());
  if (leaf.is_string()) return leaf.get<std::string>();
  return leaf.dump();
}

bool same_number(double a, double b, const CompareRule& rule) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (rule.exact) return a == b;
  return std::fabs(a - b) <= kRerunTolerance * std::max({1.0, std::fabs(a), std::fabs(b)});
}

// A gate's verdict text: "pass" or "fail: auc 0.51 < 0.52". Across builds
// only the verdict is compared (the text carries the measured number).
std::string gate_verdict(const std::string& text) { return text.rfind("pass", 0) == 0 ? "pass" : "fail"; }

class Collector {
 public:
  Collector(const CompareRule& rule, std::vector<Difference>& out) : rule_(rule), out_(out) {}

  void add(const std::string& study, int64_t trial, const std::string& field, std::string stored,
           std::string rerun) {
    out_.push_back(Difference{study, trial, field, std::move(stored), std::move(rerun)});
  }

  void json(const std::string& study, int64_t trial, const std::string& prefix,
            const std::string& stored_text, const std::string& rerun_text, bool gates = false) {
    auto a = leaves(stored_text), b = leaves(rerun_text);
    std::map<std::string, bool> paths;
    for (const auto& [path, _] : a) paths[path] = true;
    for (const auto& [path, _] : b) paths[path] = true;
    for (const auto& [path, _] : paths) {
      std::string field = path.empty() ? prefix : path[0] == '[' ? prefix + path : prefix + "." + path;
      auto x = a.find(path), y = b.find(path);
      if (x == a.end() || y == b.end()) {
        add(study, trial, field, x == a.end() ? kAbsent : leaf_text(x->second),
            y == b.end() ? kAbsent : leaf_text(y->second));
        continue;
      }
      if (x->second.is_number() && y->second.is_number()) {
        if (!same_number(x->second.get<double>(), y->second.get<double>(), rule_)) {
          add(study, trial, field, leaf_text(x->second), leaf_text(y->second));
        }
        continue;
      }
      std::string s = leaf_text(x->second), t = leaf_text(y->second);
      if (gates && !rule_.exact) {
        s = gate_verdict(s);
        t = gate_verdict(t);
      }
      if (s != t) add(study, trial, field, leaf_text(x->second), leaf_text(y->second));
    }
  }

  void number(const std::string& study, const std::string& field, std::optional<double> a,
              std::optional<double> b) {
    if (a && b && same_number(*a, *b, rule_)) return;
    if (!a && !b) return;
    add(study, -1, field, a ? number_text(*a) : kAbsent, b ? number_text(*b) : kAbsent);
  }

  void text(const std::string& study, const std::string& field, const std::string& a,
            const std::string& b) {
    if (a != b) add(study, -1, field, a, b);
  }

 private:
  const CompareRule& rule_;
  std::vector<Difference>& out_;
};

std::string describe(const RunProvenance& p) {
  return p.code_commit.substr(0, 12) + (p.code_dirty ? "+dirty" : "") + " build " +
         p.build_id.substr(0, 12) + ", " + p.compiler + ", kernels " + p.kernel_isa;
}

std::string optional_bool(std::optional<bool> b) { return b ? (*b ? "true" : "false") : kAbsent; }

}  // namespace

CompareRule compare_rule(const RunProvenance& stored, const RunProvenance& rerun) {
  CompareRule rule;
  const bool same_binary = !stored.build_id.empty() && stored.build_id == rerun.build_id;
  const bool same_kernels = stored.kernel_isa == rerun.kernel_isa;
  rule.exact = same_binary && same_kernels;
  if (rule.exact) {
    rule.description = "exact: same binary (build " + stored.build_id.substr(0, 12) +
                       ") and kernels (" + stored.kernel_isa + "), so every number must be bit-identical";
  } else {
    char tolerance[32];
    std::snprintf(tolerance, sizeof tolerance, "%g", kRerunTolerance);
    rule.description = std::string("tolerance: |a - b| <= ") + tolerance +
                       " x max(1, |a|, |b|) and gates by verdict, because the " +
                       (same_binary ? "kernels" : same_kernels ? "binaries" : "binaries and the kernels") +
                       " differ (stored: " + describe(stored) + "; rerun: " + describe(rerun) + ")";
  }
  return rule;
}

Result<RunDiff> diff_runs(ResultsStore& store, const std::string& stored_run,
                          const std::string& rerun, const CompareRule& rule) {
  RunDiff diff;
  diff.rule = rule;
  Collector collect(rule, diff.differences);

  std::map<std::pair<std::string, int64_t>, TrialOutcome> a, b;
  for (auto [run, into] : {std::pair{&stored_run, &a}, std::pair{&rerun, &b}}) {
    auto rows = store.trial_outcomes(*run);
    if (!rows) return rows.take_error();
    for (auto& row : *rows) (*into)[{row.study, row.trial}] = std::move(row);
  }
  for (const auto& [key, x] : a) {
    auto y = b.find(key);
    if (y == b.end()) {
      collect.add(key.first, key.second, "result", "stored", "missing");
      continue;
    }
    ++diff.trials_compared;
    collect.json(key.first, key.second, "params", x.params, y->second.params);
    collect.json(key.first, key.second, "metrics", x.metrics, y->second.metrics);
    collect.json(key.first, key.second, "folds", x.folds, y->second.folds);
    if (x.data_fingerprint != y->second.data_fingerprint) {
      collect.add(key.first, key.second, "data_fingerprint", x.data_fingerprint, y->second.data_fingerprint);
    }
  }
  for (const auto& [key, y] : b) {
    if (!a.count(key)) collect.add(key.first, key.second, "result", "missing", "stored");
  }

  std::map<std::string, ModelOutcome> ma, mb;
  for (auto [run, into] : {std::pair{&stored_run, &ma}, std::pair{&rerun, &mb}}) {
    auto rows = store.model_outcomes(*run);
    if (!rows) return rows.take_error();
    for (auto& row : *rows) (*into)[row.study] = std::move(row);
  }
  for (const auto& [study, x] : ma) {
    auto y = mb.find(study);
    if (y == mb.end()) {
      collect.add(study, -1, "model", "stored", "missing");
      continue;
    }
    ++diff.models_compared;
    collect.json(study, -1, "model.metrics", x.metrics, y->second.metrics);
    collect.json(study, -1, "model.gates", x.gates, y->second.gates, true);
    collect.text(study, "model.gates_passed", optional_bool(x.gates_passed), optional_bool(y->second.gates_passed));
    collect.number(study, "model.p_value", x.p_value, y->second.p_value);
    collect.number(study, "model.q_value", x.q_value, y->second.q_value);
    collect.text(study, "model.promoted", x.promoted ? "true" : "false", y->second.promoted ? "true" : "false");
    collect.text(study, "model.decision", x.decision, y->second.decision);
  }
  for (const auto& [study, y] : mb) {
    if (!ma.count(study)) collect.add(study, -1, "model", "missing", "stored");
  }
  return diff;
}

}  // namespace nightshift::replay
