#include "stages/gateway/api.h"

#include <openssl/crypto.h>

#include <charconv>
#include <cmath>

#include "base/process.h"
#include "schema/json.h"
#include "stages/gateway/web_assets.h"

namespace nightshift::gateway {
namespace {

constexpr int kMaxHistoryRows = 20'000;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      bool whole = i + 2 < text.size();
      int hi = whole ? hex_value(text[i + 1]) : -1;
      int lo = whole ? hex_value(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) return make_error(ErrorKind::invalid_input, "bad percent-escape");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(plus_is_space && c == '+' ? ' ' : c);
    }
  }
  return out;
}

std::optional<long> parse_long(const std::string& text) {
  long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

double seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

double pct(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

std::string hms(double s) {
  auto total = static_cast<int64_t>(std::llround(s));
  char text[32];
  std::snprintf(text, sizeof text, "%02lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  return text;
}

nlohmann::json job_event_json(const JobEventSeen& seen) {
  const JobEvent& e = seen.event;
  return {{"ts", seconds(seen.ts_ns)},        {"run", seen.run},
          {"study", e.key.study},              {"symbol", study_symbol(e.key.study)},
          {"trial", e.key.trial},              {"state", std::string(wire_text(e.state))},
          {"attempt", e.attempt},              {"worker", e.worker},
          {"reason", e.reason}};
}

nlohmann::json host_json(const HostSample& host) {
  nlohmann::json disks = nlohmann::json::array();
  for (const auto& d : host.disks) {
    disks.push_back({{"path", d.path},
                     {"used_bytes", d.used_bytes},
                     {"total_bytes", d.total_bytes},
                     {"percent", pct(d.used_bytes, d.total_bytes)}});
  }
  return {{"host", host.host},
          {"cpu_pct", host.cpu_pct ? nlohmann::json(*host.cpu_pct) : nlohmann::json()},
          {"ram_pct", pct(host.mem_used_bytes, host.mem_total_bytes)},
          {"ram_used_bytes", host.mem_used_bytes},
          {"ram_total_bytes", host.mem_total_bytes},
          {"disk_pct", host.disks.empty() ? nlohmann::json()
                                          : nlohmann::json(pct(host.disks[0].used_bytes,
                                                               host.disks[0].total_bytes))},
          {"disks", disks},
          {"load1", host.load1}};
}

nlohmann::json alert_json(const std::string& topic, int64_t ts_ns, const std::string& level,
                          const std::string& state, const std::string& message) {
  return {{"topic", topic}, {"since", seconds(ts_ns)}, {"level", level},
          {"state", state}, {"message", message}};
}

}  // namespace

Result<Target> parse_target(std::string_view target) {
  Target out;
  auto question = target.find('?');
  auto path = percent_decode(target.substr(0, question), false);
  if (!path) return make_error(ErrorKind::invalid_input, "path: " + path.error());
  out.path = std::move(*path);
  if (question == std::string_view::npos) return out;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!key || !value) return make_error(ErrorKind::invalid_input, "query: bad percent-escape");
    out.query[*key] = *value;
  }
  return out;
}

bool History::open_locked() {
  if (store_) return true;
  auto now = std::chrono::steady_clock::now();
  if (now < next_try_) return false;
  next_try_ = now + std::chrono::seconds(1);
  auto opened = ResultsStore::open_read_only(path_);
  if (!opened) return false;
  store_.emplace(std::move(*opened));
  return true;
}

Response json_response(int status, const nlohmann::json& body) {
  return Response{status, "application/json", dump_json(body), false};
}

Response error_response(int status, const std::string& message) {
  return json_response(status, {{"error", message}});
}

Api::Api(const config::Config& config, LiveState& live, History& history, Metrics& metrics,
         const StreamCounters& streams)
    : config_(config), live_(live), history_(history), metrics_(metrics), streams_(streams),
      started_ns_(now_ns()) {}

bool Api::authorized(std::string_view authorization, const Target& target) const {
  const std::string& token = config_.dashboard.token;
  if (token.empty()) return true;
  auto same = [&token](std::string_view given) {
    return given.size() == token.size() && CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
  };
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) == kBearer && same(authorization.substr(kBearer.size())))
    return true;
  auto query = target.query.find("token");
  return query != target.query.end() && same(query->second);
}

Response Api::handle(std::string_view method, std::string_view raw_target,
                     std::string_view authorization) {
  auto target = parse_target(raw_target);
  if (!target) return error_response(400, target.error());
  if (!authorized(authorization, *target)) {
    return error_response(401, "this gateway needs a token: Authorization: Bearer TOKEN or ?token=TOKEN");
  }
  if (method != "GET") return error_response(405, "only GET is served");
  // A handler bug must cost one request, never the gateway.
  try {
    return route(*target);
  } catch (const std::exception& e) {
    return error_response(500, std::string("internal error: ") + e.what());
  }
}

Response Api::route(const Target& target) {
  const std::string& path = target.path;
  if (path == "/api/v1/analytics/gpu/status") return gpu_status();
  if (path == "/api/v1/analytics/gpu/metrics") return gpu_metrics(target);
  if (path == "/health") return health();
  if (path == "/gpu/info") return gpu_info();
  if (path == "/gpu/stats") return gpu_stats();
  if (path == "/gpu/history") return gpu_history(target);
  if (path == "/api/status") return status();
  if (path == "/api/runs") return runs();
  if (path == "/api/alerts") return alerts(target);
  if (path == "/api/workers") return workers();
  if (path == "/metrics") {
    return Response{200, "text/plain; version=0.0.4; charset=utf-8",
                    metrics_.scrape(live_, streams_), false};
  }
  constexpr std::string_view kRuns = "/api/runs/";
  if (path.rfind(kRuns, 0) == 0) {
    std::string rest = path.substr(kRuns.size());
    auto slash = rest.find('/');
    std::string id = rest.substr(0, slash);
    return run(id, slash == std::string::npos ? "" : rest.substr(slash), target);
  }
  const WebAsset* asset = find_web_asset(path == "/" ? "/index.html" : std::string_view(path));
  if (asset) return Response{200, std::string(asset->content_type), std::string(asset->body), true};
  return error_response(404, "no such path");
}

Response Api::gpu_stats() {
  {
    std::lock_guard lock(gpu_stats_mutex_);
    if (gpu_stats_version_ != 0 && gpu_stats_version_ == live_.gpus_version())
      return Response{200, "application/json", gpu_stats_body_, false};
  }
  auto gpus = live_.gpus();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& gpu : gpus.samples) list.push_back(gpu_json(gpu, judge_gpu(gpu, live_.rules())));
  Response response = json_response(200, {{"timestamp", seconds(gpus.ts_ns)}, {"gpus", list}});
  std::lock_guard lock(gpu_stats_mutex_);
  gpu_stats_version_ = gpus.version;
  gpu_stats_body_ = response.body;
  return response;
}

Response Api::gpu_info() {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& gpu : live_.gpus().samples) {
    list.push_back({{"id", gpu.index},
                    {"host", gpu.host},
                    {"name", gpu.name},
                    {"backend", gpu.backend},
                    {"simulated", gpu.simulated},
                    {"pci_bus_id", gpu.pci_bus_id ? nlohmann::json(*gpu.pci_bus_id) : nlohmann::json()},
                    {"memory_total", gpu.mem_total_bytes ? nlohmann::json(*gpu.mem_total_bytes)
                                                         : nlohmann::json()},
                    {"unavailable", gpu.unavailable}});
  }
  nlohmann::json backends = nlohmann::json::array();
  if (auto inventory = live_.inventory()) {
    for (const auto& b : inventory->backends) backends.push_back(wire_json(b));
  }
  const auto& t = config_.telemetry.alerts;
  nlohmann::json thresholds = {{"temperature_warning_c", t.gpu_temp_warning_c},
                               {"temperature_critical_c", t.gpu_temp_critical_c},
                               {"vram_pct", t.vram_pct}};
  return json_response(200, {{"gpu_count", list.size()}, {"gpus", list}, {"backends", backends},
                             {"thresholds", thresholds}});
}

Response Api::gpu_status() {
  auto gpus = live_.gpus();
  std::string overall = "healthy";
  nlohmann::json list = nlohmann::json::array();
  for (const auto& gpu : gpus.samples) {
    GpuHealth health = judge_gpu(gpu, live_.rules());
    if (health.status == "critical" || (health.status == "warning" && overall == "healthy"))
      overall = health.status;
    nlohmann::json entry = gpu_json(gpu, health);
    entry["device_id"] = gpu.index;
    list.push_back(std::move(entry));
  }
  return json_response(200, {{"status", overall},
                             {"gpu_count", list.size()},
                             {"timestamp", seconds(gpus.ts_ns)},
                             {"gpus", list}});
}

Response Api::gpu_metrics(const Target& target) {
  auto param = target.query.find("device_id");
  if (param == target.query.end()) return error_response(400, "device_id is required, e.g. ?device_id=0");
  auto id = parse_long(param->second);
  if (!id || *id < 0) return error_response(400, "device_id must be a GPU index (0, 1, ...)");
  for (const auto& gpu : live_.gpus().samples) {
    if (gpu.index != static_cast<uint64_t>(*id)) continue;
    GpuHealth health = judge_gpu(gpu, live_.rules());
    nlohmann::json entry = gpu_json(gpu, health);
    entry["device_id"] = gpu.index;
    entry["metrics"] = wire_json(gpu);
    return json_response(200, entry);
  }
  return error_response(404, "no GPU with device_id " + param->second);
}

Response Api::health() {
  int64_t last = live_.last_message_ns();
  double age = last == 0 ? -1 : seconds(now_ns() - last);
  bool database = history_.with_store([](ResultsStore&) { return true; }).has_value();
  bool bus_ok = last != 0 && age < 10;
  return json_response(200, {{"status", bus_ok ? "healthy" : "degraded"},
                             {"uptime_s", seconds(now_ns() - started_ns_)},
                             {"bus", bus_ok ? "receiving" : "silent"},
                             {"last_message_age_s", last == 0 ? nlohmann::json() : nlohmann::json(age)},
                             {"messages", live_.messages()},
                             {"gpu_count", live_.gpus().samples.size()},
                             {"database", database ? "open" : "absent"}});
}

Response Api::gpu_history(const Target& target) {
  long minutes = 10;
  if (auto param = target.query.find("minutes"); param != target.query.end()) {
    auto parsed = parse_long(param->second);
    if (!parsed || *parsed < 1 || *parsed > config_.dashboard.history_minutes) {
      return error_response(400, "minutes must be an integer in [1, " +
                                     std::to_string(config_.dashboard.history_minutes) + "]");
    }
    minutes = *parsed;
  }
  nlohmann::json samples = nlohmann::json::array();
  std::string source = "live";
  int64_t since = now_ns() - minutes * 60'000'000'000;
  auto stored = history_.with_store(
      [&](ResultsStore& store) { return store.gpu_history(since, kMaxHistoryRows); });
  if (stored && *stored && !(*stored)->empty()) {
    source = "database";
    for (const auto& row : **stored) {
      auto frame = nlohmann::json::parse(row.json, nullptr, false);
      if (frame.is_discarded() || !frame.is_object() || !frame.contains("data")) continue;
      GpuSample gpu;
      const auto& d = frame["data"];
      if (!d.is_object()) continue;
      gpu.host = d.value("host", "");
      gpu.index = d.value("index", 0u);
      gpu.name = d.value("name", "");
      gpu.backend = d.value("backend", "");
      gpu.simulated = d.value("simulated", false);
      auto num = [&d](const char* key) -> std::optional<double> {
        auto it = d.find(key);
        return it != d.end() && it->is_number() ? std::optional<double>(it->get<double>()) : std::nullopt;
      };
      gpu.temp_c = num("temp_c");
      gpu.util_pct = num("util_pct");
      gpu.power_w = num("power_w");
      gpu.sm_clock_mhz = num("sm_clock_mhz");
      if (auto used = num("mem_used_bytes")) gpu.mem_used_bytes = static_cast<uint64_t>(*used);
      if (auto total = num("mem_total_bytes")) gpu.mem_total_bytes = static_cast<uint64_t>(*total);
      nlohmann::json entry = gpu_json(gpu, judge_gpu(gpu, live_.rules()));
      entry["timestamp"] = seconds(row.ts_ns);
      samples.push_back(std::move(entry));
    }
  } else {
    for (const auto& [ts, gpu] : live_.gpu_history(static_cast<int>(minutes))) {
      nlohmann::json entry = gpu_json(gpu, judge_gpu(gpu, live_.rules()));
      entry["timestamp"] = seconds(ts);
      samples.push_back(std::move(entry));
    }
  }
  return json_response(200, {{"minutes", minutes}, {"source", source}, {"samples", samples}});
}

Response Api::status() {
  nlohmann::json out;
  auto progress = live_.progress();
  std::optional<RunRow> stored;
  if (!progress) stored = latest_stored_run();
  if (progress) {
    const RunProgress& p = *progress;
    uint64_t finished = p.done + p.skipped;
    out["run"] = p.run;
    out["status"] = "running";
    out["total"] = p.total;
    out["completed"] = p.done;
    out["running"] = p.running;
    out["failed"] = p.failed;
    out["skipped"] = p.skipped;
    out["pending"] = p.total > finished + p.running ? p.total - finished - p.running : 0;
    out["progress_pct"] = pct(finished, p.total);
    out["speed_jobs_per_s"] = p.jobs_per_s;
    out["eta_s"] = p.eta_s ? nlohmann::json(*p.eta_s) : nlohmann::json();
    out["eta"] = p.eta_s ? nlohmann::json(hms(*p.eta_s)) : nlohmann::json();
  } else if (stored) {
    out["run"] = stored->run;
    out["status"] = std::string(wire_text(stored->status));
    out["total"] = stored->total_jobs;
    out["completed"] = stored->done_jobs;
    out["running"] = 0;
    out["failed"] = 0;
    out["skipped"] = stored->skipped_jobs;
    out["pending"] = std::max<int64_t>(0, stored->total_jobs - stored->done_jobs - stored->skipped_jobs);
    out["progress_pct"] = pct(static_cast<uint64_t>(stored->done_jobs + stored->skipped_jobs),
                              static_cast<uint64_t>(stored->total_jobs));
    out["speed_jobs_per_s"] = 0;
    out["eta_s"] = nullptr;
    out["eta"] = nullptr;
  } else {
    out = {{"run", nullptr}, {"status", "idle"}, {"total", 0}, {"completed", 0}, {"running", 0},
           {"failed", 0}, {"skipped", 0}, {"pending", 0}, {"progress_pct", 0},
           {"speed_jobs_per_s", 0}, {"eta_s", nullptr}, {"eta", nullptr}};
  }
  if (auto host = live_.host()) {
    nlohmann::json host_fields = host_json(*host);
    for (auto& [key, value] : host_fields.items()) out[key] = value;
  } else {
    out["cpu_pct"] = out["ram_pct"] = out["disk_pct"] = nullptr;
  }
  nlohmann::json recent = nlohmann::json::array();
  nlohmann::json symbols = nlohmann::json::object();
  for (const auto& seen : live_.recent_jobs()) {
    recent.push_back(job_event_json(seen));
    auto& symbol = symbols[study_symbol(seen.event.key.study)];
    symbol["last_state"] = std::string(wire_text(seen.event.state));
    symbol["last_study"] = seen.event.key.study;
    symbol["ts"] = seconds(seen.ts_ns);
  }
  nlohmann::json failures = nlohmann::json::array();
  for (const auto& seen : live_.recent_failures()) failures.push_back(job_event_json(seen));
  out["recent_jobs"] = recent;
  out["symbols"] = symbols;
  out["recent_failures"] = failures;
  out["active_alerts"] = live_.active_alerts().size();
  out["workers"] = live_.workers().size();
  return json_response(200, out);
}

Response Api::alerts(const Target& target) {
  bool active_only = false;
  if (auto param = target.query.find("active"); param != target.query.end()) {
    if (param->second != "0" && param->second != "1")
      return error_response(400, "active must be 0 or 1");
    active_only = param->second == "1";
  }
  nlohmann::json list = nlohmann::json::array();
  if (active_only) {
    std::map<std::string, nlohmann::json> by_topic;
    auto stored = history_.with_store([](ResultsStore& s) { return s.active_alerts(); });
    if (stored && *stored) {
      for (const auto& a : **stored) by_topic[a.topic] = alert_json(a.topic, a.since_ns, a.level, "firing", a.message);
    }
    for (const auto& seen : live_.active_alerts()) {
      by_topic[seen.topic] = alert_json(seen.topic, seen.ts_ns, seen.alert.level, "firing", seen.alert.message);
    }
    for (auto& [topic, entry] : by_topic) list.push_back(std::move(entry));
  } else {
    for (const auto& seen : live_.recent_alerts()) {
      list.push_back(alert_json(seen.topic, seen.ts_ns, seen.alert.level, seen.alert.state, seen.alert.message));
    }
  }
  return json_response(200, {{"active", active_only}, {"alerts", list}});
}

Response Api::workers() {
  nlohmann::json list = nlohmann::json::array();
  int64_t now = now_ns();
  for (const auto& [id, seen] : live_.workers()) {
    const Heartbeat& h = seen.heartbeat;
    list.push_back({{"id", id}, {"host", h.host}, {"worker_id", h.worker_id},
                    {"slots_total", h.slots_total}, {"slots_free", h.slots_free},
                    {"current_job", h.current_job ? nlohmann::json(job_key_text(*h.current_job)) : nlohmann::json()},
                    {"rss_bytes", h.rss_bytes}, {"jobs_done", h.jobs_done},
                    {"last_seen_s", seconds(now - seen.last_ns)}});
  }
  return json_response(200, {{"workers", list}});
}

}  // namespace nightshift::gateway
