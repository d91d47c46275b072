// The gateway stage: one HTTP/WebSocket service for the dashboard, the REST
// API, the seed-compatible GPU and status paths and Prometheus /metrics
// (docs/gateway.md). It subscribes to the whole bus for live state and
// reads the results database read-only for history.
#pragma once

#include <string>

#include "config/config.h"

namespace nightshift::gateway {

// Whether `address` is a loopback address (127.0.0.0/8, ::1).
bool is_loopback(const std::string& address);

// The stage's whole life: check the bind rules, listen, follow the bus,
// serve until SIGINT/SIGTERM. Returns the process exit code.
int run_gateway_stage(const config::Config& config);

// http://BIND:PORT/ for the operator.
std::string gateway_url(const config::DashboardConfig& dashboard);

}  // namespace nightshift::gateway
