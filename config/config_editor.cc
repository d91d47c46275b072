#include "config/config_editor.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config.h"

namespace nightshift::config {
namespace {

constexpr const char* kStarter = R"(# nightshift — the night run. Every key is optional; see config/nightshift.yaml
# for all of them and `nightshift config validate` to check this file.
symbols: [BTCUSDT, ETHUSDT, ADAUSDT, SOLUSDT, DOGEUSDT, XRPUSDT]
timeframes: [1m, 5m, 15m, 1h, 4h, 1d]
horizons: [1, 3, 5]
models: [logreg_l2]
num_workers: 0                # 0: one per core, less one
max_memory_per_process: 2.0   # GB, hard cap per worker process
promote_if:
  min_auc: 0.52
  max_brier: 0.26
  min_acc: 0.50
  max_auc_p_value: 0.05       # the holdout AUC must be unlikely by chance (per study)
  fdr_q: 0.05                 # false discovery rate over the whole run
fetcher:
  history_days: 365           # how far back a dataset reaches, unless its timeframe is below
  history_days_by_timeframe: {1m: 29, 5m: 59, 15m: 59, 1d: 1825}   # Yahoo's limits; 5 y of 1d
storage:
  results_db: var/nightshift.db
  artifacts_dir: var/models
)";

Result<YAML::Node> load_yaml(const std::string& path) {
  auto text = read_config_file(path);
  if (!text) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) return Error{text.error()};
    return make_error(text.error() + " (create one with `nightshift config create " + path + "`)");
  }
  try {
    YAML::Node root = YAML::Load(*text);
    if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    if (!root.IsMap()) return make_error(path + ": expected a mapping at the top level");
    return root;
  } catch (const YAML::ParserException& e) {
    return make_error(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
}

// Validates with the real loader, then replaces the file atomically.
Status save_validated(const std::string& path, const std::string& text) {
  auto checked = load_config_text(text, path);
  if (!checked) {
    std::string why = checked.error();
    // One line, however many problems.
    for (auto pos = why.find('\n'); pos != std::string::npos; pos = why.find('\n', pos)) {
      why.replace(pos, 1, "; ");
    }
    return make_error("edit rejected, file unchanged: " + why);
  }
  std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << text;
    if (!out) return make_error(path + ": cannot write " + temp);
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) return make_error(path + ": cannot replace: " + ec.message());
  return Status::success();
}

Status save_node(const std::string& path, const YAML::Node& root) {
  std::ostringstream text;
  text << root << "\n";
  return save_validated(path, text.str());
}

// yaml-cpp writes a double with 17 digits (0.55 -> 0.55000000000000004);
// 15 significant digits give back what the user typed.
YAML::Node number(double value) {
  std::ostringstream text;
  text.precision(15);
  text << value;
  return YAML::Node(text.str());
}

YAML::Node flow_list(const std::vector<std::string>& items) {
  YAML::Node list(YAML::NodeType::Sequence);
  for (const auto& item : items) list.push_back(item);
  list.SetStyle(YAML::EmitterStyle::Flow);
  return list;
}

}  // namespace

Status create_config_file(const std::string& path, bool force) {
  if (!force && std::filesystem::exists(path)) {
    return make_error(path + " already exists (use --force to overwrite)");
  }
  auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  return save_validated(path, kStarter);
}

Status add_symbol(const std::string& path, const std::string& symbol) {
  auto root = load_yaml(path);
  if (!root) return root.take_error();
  std::vector<std::string> symbols = Config{}.symbols;
  if ((*root)["symbols"] && (*root)["symbols"].IsSequence()) {
    try {
      symbols = (*root)["symbols"].as<std::vector<std::string>>();
    } catch (const YAML::Exception&) {
      return make_error(path + ": symbols: expected a list of strings");
    }
  }
  if (std::find(symbols.begin(), symbols.end(), symbol) != symbols.end()) {
    return make_error(path + ": symbol " + symbol + " is already listed");
  }
  symbols.push_back(symbol);
  (*root)["symbols"] = flow_list(symbols);
  return save_node(path, *root);
}

Status set_timeframes(const std::string& path, const std::vector<std::string>& timeframes) {
  auto root = load_yaml(path);
  if (!root) return root.take_error();
  (*root)["timeframes"] = flow_list(timeframes);
  return save_node(path, *root);
}

Status set_thresholds(const std::string& path, const GateEdit& gates) {
  auto root = load_yaml(path);
  if (!root) return root.take_error();
  YAML::Node promote = (*root)["promote_if"];
  if (!promote.IsMap()) promote = YAML::Node(YAML::NodeType::Map);
  if (gates.min_auc) promote["min_auc"] = number(*gates.min_auc);
  if (gates.max_brier) promote["max_brier"] = number(*gates.max_brier);
  if (gates.min_acc) promote["min_acc"] = number(*gates.min_acc);
  if (gates.max_auc_p_value) promote["max_auc_p_value"] = number(*gates.max_auc_p_value);
  (*root)["promote_if"] = promote;
  return save_node(path, *root);
}

MachinePlan plan_for_machine(int cores, uint64_t ram_bytes) {
  MachinePlan plan;
  plan.workers = std::max(1, cores - 1);
  double ram_gb = static_cast<double>(ram_bytes) / (1024.0 * 1024.0 * 1024.0);
  // In tenths of a GB, 0.8 * ram_gb / (workers + 2) * 10 is
  // 8 * ram_bytes / (2^30 * (workers + 2)), rounded down. Integers, because
  // in doubles 0.8 * 20.25 / 3 is 5.3999..., which rounds down to 5.3.
  uint64_t tenths = 8 * ram_bytes / ((uint64_t{1} << 30) * static_cast<uint64_t>(plan.workers + 2));
  plan.memory_per_process_gb = static_cast<double>(std::clamp<uint64_t>(tenths, 1, 80)) / 10;
  std::ostringstream why;
  why << cores << " cores -> " << plan.workers << " workers (one core for broker, persister, "
      << "scheduler, telemetry); " << std::round(ram_gb * 10) / 10 << " GB RAM -> "
      << plan.memory_per_process_gb << " GB per worker (80 % of RAM over workers + 2)";
  plan.reason = why.str();
  return plan;
}

Status apply_machine_plan(const std::string& path, const MachinePlan& plan) {
  auto root = load_yaml(path);
  if (!root) return root.take_error();
  (*root)["num_workers"] = plan.workers;
  (*root)["max_memory_per_process"] = number(plan.memory_per_process_gb);
  return save_node(path, *root);
}

}  // namespace nightshift::config
