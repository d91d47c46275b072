// The gateway's HTTP API, independent of the server library: a request's
// method, target and Authorization header in, a status, content type and
// body out. Live state comes from LiveState, history from the results
// database opened read-only (History). Paths are documented in docs/gateway.md.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "schema/results_store.h"
#include "stages/gateway/live_state.h"
#include "stages/gateway/metrics_exposition.h"

namespace nightshift::gateway {

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  bool cacheable = false;  // static files
};

struct Target {
  std::string path;  // percent-decoded
  std::map<std::string, std::string> query;
};
// Splits and percent-decodes "/path?k=v&..."; an error names what is wrong.
Result<Target> parse_target(std::string_view target);

// Read-only access to the results database. The file may not exist yet when
// the gateway starts (the persister creates it): it is opened on first use
// and retried at most once a second.
class History {
 public:
  explicit History(std::string path) : path_(std::move(path)) {}
  // Runs `read` on the open store under the lock; nullopt if there is no
  // database (yet).
  template <typename Read>
  auto with_store(Read read) -> std::optional<decltype(read(std::declval<ResultsStore&>()))> {
    std::lock_guard lock(mutex_);
    if (!open_locked()) return std::nullopt;
    return read(*store_);
  }

 private:
  bool open_locked();
  std::string path_;
  std::mutex mutex_;
  std::optional<ResultsStore> store_;
  std::chrono::steady_clock::time_point next_try_{};
};

class Api {
 public:
  Api(const config::Config& config, LiveState& live, History& history, Metrics& metrics,
      const StreamCounters& streams);

  // Whether a request with this Authorization header and query may pass.
  bool authorized(std::string_view authorization, const Target& target) const;
  Response handle(std::string_view method, std::string_view target,
                  std::string_view authorization);

 private:
  Response route(const Target& target);
  Response gpu_status();
  Response gpu_metrics(const Target& target);
  Response health();
  Response gpu_info();
  Response gpu_stats();
  Response gpu_history(const Target& target);
  Response status();
  Response runs();
  Response run(const std::string& id, const std::string& rest, const Target& target);
  Response alerts(const Target& target);
  Response workers();

  const config::Config& config_;
  LiveState& live_;
  History& history_;
  Metrics& metrics_;
  const StreamCounters& streams_;
  int64_t started_ns_;
  // /gpu/stats is the most polled path: its body is rendered once per GPU
  // sample, not once per request.
  std::mutex gpu_stats_mutex_;
  uint64_t gpu_stats_version_ = 0;
  std::string gpu_stats_body_;
  // With no live run, /api/status shows the latest stored one, read from
  // the database at most once a second.
  std::optional<RunRow> latest_stored_run();
  std::mutex latest_run_mutex_;
  std::optional<RunRow> latest_run_;
  std::chrono::steady_clock::time_point latest_run_read_{};
};

Response json_response(int status, const nlohmann::json& body);
Response error_response(int status, const std::string& message);

}  // namespace nightshift::gateway
