// PoliteClient: how every HTTP source talks to its server.
//
//  - A token bucket per host (requests_per_s, burst) spaces requests out.
//  - 429 (and answers the source says mean "rate limited") and 5xx and
//    timeouts are retried with exponential backoff and jitter (base * 2^n,
//    capped, times a random factor in [0.5, 1]), at most max_retries times.
//    A Retry-After header is a floor on the wait: nothing is sent before it.
//  - After circuit_after consecutive rate-limit answers, or one 418 (Binance's
//    "you ignored 429s, you are banned"), the circuit opens: the source fails
//    fast for circuit_cooldown_s (or Retry-After, if longer) and says so in
//    a data.circuit_open notice, instead of hammering a server that said stop.
//
// Waits sleep in short steps and give up when the process is asked to stop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>

#include "config/fetcher_config.h"
#include "schema/result.h"
#include "stages/fetcher/http_client.h"
#include "stages/fetcher/source.h"

namespace nightshift::fetcher {

class TokenBucket {
 public:
  TokenBucket(double rate_per_s, int burst) : rate_(rate_per_s), burst_(burst), tokens_(burst) {}
  // Milliseconds to wait before a token is available at `now_ms`; takes it.
  int64_t take(int64_t now_ms);

 private:
  double rate_;
  double burst_;
  double tokens_;
  int64_t last_ms_ = -1;
};

class PoliteClient {
 public:
  using RateLimitTest = std::function<bool(const HttpResponse&)>;

  PoliteClient(std::string source, config::SourcePoliteness policy, NoticeSink notices,
               bool keep_cookies = false);

  // GET with pacing, retries and the circuit. Returns the first response
  // that is neither rate-limited nor 5xx (the caller judges 4xx), or an error.
  Result<HttpResponse> get(const std::string& url, const RateLimitTest& rate_limited = {});

  // Opens the circuit for at least `seconds` (used for 418 and by sources).
  void open_circuit(int64_t seconds, const std::string& why);
  bool circuit_open() const;
  uint64_t requests_sent() const { return requests_sent_; }

 private:
  Status wait_for_circuit() const;
  Status pace(const std::string& url);
  Status sleep_ms(int64_t ms) const;
  int64_t backoff_ms(int attempt);
  void notice(const std::string& kind, const std::string& message) const;

  std::string source_;
  config::SourcePoliteness policy_;
  NoticeSink notices_;
  HttpClient http_;
  std::map<std::string, TokenBucket> buckets_;  // by host
  std::mt19937_64 jitter_{std::random_device{}()};
  int consecutive_rate_limits_ = 0;
  int64_t circuit_until_ms_ = 0;
  uint64_t requests_sent_ = 0;
};

// Retry-After in milliseconds (seconds form; HTTP dates are not used by
// Yahoo or Binance), or -1 when absent or unreadable.
int64_t retry_after_ms(const HttpResponse& response);

// Steady-clock milliseconds.
int64_t monotonic_ms();

}  // namespace nightshift::fetcher
