// nightshift config validate | show | env
#include <cstdlib>
#include <iostream>

#include "apps/cli_context.h"
#include "config/config_keys.h"

namespace nightshift::cli {
namespace {

int run_validate(const GlobalOptions& global, const std::string& file) {
  std::string path = file.empty() ? global.config_path : file;
  auto loaded = config::load_config(path);
  if (!loaded) {
    std::cerr << loaded.error() << "\n";
    return 1;
  }
  std::cout << (path.empty() ? std::string("built-in defaults") : path) << ": valid ("
            << loaded->symbols.size() << " symbols x " << loaded->timeframes.size()
            << " timeframes x " << loaded->horizons.size() << " horizons x "
            << loaded->models.size() << " models = "
            << loaded->symbols.size() * loaded->timeframes.size() * loaded->horizons.size() *
                   loaded->models.size()
            << " studies, " << loaded->num_workers << " workers)\n";
  return 0;
}

// The effective config: the file (or the built-in defaults) with the
// NIGHTSHIFT_* overrides applied, every key, as YAML that loads back.
int run_show(const GlobalOptions& global, const std::string& file) {
  std::string path = file.empty() ? global.config_path : file;
  auto loaded = config::load_config(path);
  if (!loaded) {
    std::cerr << loaded.error() << "\n";
    return 1;
  }
  std::cout << "# effective configuration of " << (path.empty() ? "the built-in defaults" : path)
            << "\n";
  for (const auto& o : config::env_overrides()) {
    const char* value = std::getenv(o.variable);
    if (value == nullptr || *value == '\0') continue;
    std::cout << "# " << o.key_path << " from the environment: " << o.variable << "\n";
  }
  std::cout << config::to_yaml(*loaded);
  return 0;
}

int run_env() {
  for (const auto& o : config::env_overrides()) {
    std::cout << o.variable << "\t" << o.key_path << "\t" << o.description << "\n";
  }
  return 0;
}

}  // namespace

void add_config_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto* cfg = app.add_subcommand("config", "Validate and inspect configuration");
  cfg->require_subcommand(1);

  auto file = std::make_shared<std::string>();
  auto* validate = cfg->add_subcommand(
      "validate", "Check a config file: unknown keys (with suggestions), types and ranges, "
                  "each reported with file, line and key");
  validate->add_option("file", *file, "YAML file (default: --config or built-in defaults)");
  validate->callback([&, file] { exit_code = run_validate(global, *file); });

  auto show_file = std::make_shared<std::string>();
  auto* show = cfg->add_subcommand(
      "show", "Print the effective configuration (the file with NIGHTSHIFT_* overrides applied, "
              "every key) as YAML");
  show->add_option("file", *show_file, "YAML file (default: --config or built-in defaults)");
  show->callback([&, show_file] { exit_code = run_show(global, *show_file); });

  auto* env = cfg->add_subcommand("env", "List the NIGHTSHIFT_* environment overrides");
  env->callback([&] { exit_code = run_env(); });
}

}  // namespace nightshift::cli
