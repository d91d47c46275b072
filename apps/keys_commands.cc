// nightshift keys generate NAME [--role R] | authorize FILE | list
#include <iostream>

#include "apps/cli_context.h"
#include "broker/curve_keys.h"

namespace nightshift::cli {
namespace {

int run_generate(const GlobalOptions& global, const std::string& name, const std::string& role,
                 std::string dir) {
  auto config = load_config_or_report(global);
  if (!config) return 2;
  if (dir.empty()) dir = config->security.keys_dir;
  auto written = bus::generate_key_pair(dir, name, role);
  if (!written) {
    std::cerr << "nightshift: keys generate: " << written.error() << "\n";
    return 1;
  }
  std::cout << *written << "\n" << *written << "_secret (mode 0600; keep it on its host)\n";
  return 0;
}

int run_authorize(const GlobalOptions& global, const std::string& file) {
  auto config = load_config_or_report(global);
  if (!config) return 2;
  auto target = bus::authorize_key(file, config->security.authorized_keys_dir);
  if (!target) {
    std::cerr << "nightshift: keys authorize: " << target.error() << "\n";
    return 1;
  }
  std::cout << "authorized: " << *target << "\n";
  return 0;
}

int run_list(const GlobalOptions& global) {
  auto config = load_config_or_report(global);
  if (!config) return 2;
  std::vector<std::string> problems;
  auto keys = bus::read_authorized_keys(config->security.authorized_keys_dir, &problems);
  std::cout << "authorized keys in " << config->security.authorized_keys_dir << ": "
            << keys.size() << "\n";
  for (const auto& key : keys) {
    std::string from;
    for (const auto& a : key.from) from += (from.empty() ? "" : ",") + a;
    std::cout << key.name << "\t" << (key.role.empty() ? "any" : key.role) << "\t"
              << key.public_key << "\t" << (from.empty() ? "any address" : from) << "\n";
  }
  for (const auto& p : problems) std::cerr << "nightshift: keys list: " << p << " (ignored)\n";
  return problems.empty() ? 0 : 1;
}

}  // namespace

void add_keys_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto* keys = app.add_subcommand("keys", "CURVE key pairs and the keys the head admits");
  keys->require_subcommand(1);

  static std::string name, role, dir, file;
  auto* generate = keys->add_subcommand("generate", "Write NAME.key and NAME.key_secret (0600)");
  generate->add_option("name", name, "key name (host or stage)")->required();
  generate->add_option("--role", role, "head, worker or telemetry (default: any)");
  generate->add_option("--dir", dir, "folder (default: security.keys_dir)");
  generate->callback([&] { exit_code = run_generate(global, name, role, dir); });

  auto* authorize =
      keys->add_subcommand("authorize", "Admit a public key file (copied to authorized_keys_dir)");
  authorize->add_option("file", file, "NAME.key")->required();
  authorize->callback([&] { exit_code = run_authorize(global, file); });

  keys->add_subcommand("list", "List the admitted keys: name, role, key, addresses")
      ->callback([&] { exit_code = run_list(global); });
}

}  // namespace nightshift::cli
