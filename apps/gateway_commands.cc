// nightshift gateway: the HTTP/WebSocket service (dashboard, API, /metrics).
#include <memory>
#include <string>

#include "apps/cli_context.h"
#include "stages/gateway/gateway_stage.h"

namespace nightshift::cli {

void add_gateway_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto* gateway = app.add_subcommand(
      "gateway", "Serve the dashboard, the REST API, WebSocket streams and /metrics at "
                 "dashboard.bind:dashboard.port (docs/gateway.md)");
  auto port = std::make_shared<int>(0);
  gateway->add_option("--port", *port, "Listen on this port instead of dashboard.port")
      ->check(CLI::Range(1, 65535));
  gateway->callback([&, port] {
    auto config = begin_command("gateway", global);
    if (!config) {
      exit_code = 2;
      return;
    }
    if (*port != 0) config->dashboard.port = *port;
    exit_code = gateway::run_gateway_stage(*config);
  });
}

}  // namespace nightshift::cli
