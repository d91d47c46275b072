#include "schema/topics.h"

namespace nightshift::topics {

std::string segment(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_';
    out.push_back(plain ? c : '_');
  }
  return out.empty() ? std::string("_") : out;
}

std::string telemetry_host(std::string_view host) { return "telemetry.host." + segment(host); }

std::string telemetry_gpu(std::string_view host, uint32_t index) {
  return "telemetry.gpu." + segment(host) + "." + std::to_string(index);
}

std::string alert(std::string_view level, std::string_view host, std::string_view metric) {
  return "alert." + segment(level) + "." + segment(host) + "." + segment(metric);
}

std::string job(std::string_view state, std::string_view run) {
  return "job." + segment(state) + "." + segment(run);
}

std::string run_progress(std::string_view run) { return "run." + segment(run) + ".progress"; }

std::string worker_heartbeat(std::string_view host, std::string_view worker_id) {
  return "worker." + segment(host) + "." + segment(worker_id) + ".heartbeat";
}

std::string data_ready(std::string_view symbol, std::string_view timeframe) {
  return "data.ready." + segment(symbol) + "." + segment(timeframe);
}

std::string data_notice(std::string_view kind, std::string_view source) {
  return "data." + segment(kind) + "." + segment(source);
}

std::string replay(std::string_view original_topic) {
  return "replay." + std::string(original_topic);
}

}  // namespace nightshift::topics
