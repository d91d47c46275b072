// Topic builders. Topics are dotted and hierarchical so that ZeroMQ prefix
// matching selects subtrees: subscribing to "telemetry.gpu" gets every GPU.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nightshift::topics {

std::string telemetry_host(std::string_view host);
std::string telemetry_gpu(std::string_view host, uint32_t index);
std::string alert(std::string_view level, std::string_view host, std::string_view metric);
std::string job(std::string_view state, std::string_view run);
std::string run_progress(std::string_view run);
std::string worker_heartbeat(std::string_view host, std::string_view worker_id);
std::string data_ready(std::string_view symbol, std::string_view timeframe);
std::string data_notice(std::string_view kind, std::string_view source);
std::string replay(std::string_view original_topic);

// Replaces characters that would break prefix matching ('.', spaces) in a
// single topic segment, e.g. a host name "gpu.lab" becomes "gpu_lab".
std::string segment(std::string_view raw);

}  // namespace nightshift::topics
