#include "stages/fetcher/polite_client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "base/process.h"

namespace nightshift::fetcher {
namespace {

std::string host_of(const std::string& url) {
  auto scheme = url.find("://");
  auto start = scheme == std::string::npos ? 0 : scheme + 3;
  auto end = url.find('/', start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string snippet(const std::string& body) {
  std::string s = body.substr(0, 120);
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

}  // namespace

int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t TokenBucket::take(int64_t now_ms) {
  if (last_ms_ >= 0) tokens_ = std::min(burst_, tokens_ + (now_ms - last_ms_) * rate_ / 1000.0);
  last_ms_ = now_ms;
  tokens_ -= 1.0;
  if (tokens_ >= 0) return 0;
  // In debt: the caller waits until the debt is repaid.
  return static_cast<int64_t>(-tokens_ * 1000.0 / rate_ + 0.999);
}

int64_t retry_after_ms(const HttpResponse& response) {
  std::string value = response.header("retry-after");
  if (value.empty()) return -1;
  try {
    return static_cast<int64_t>(std::stod(value) * 1000);
  } catch (...) {
    return -1;
  }
}

PoliteClient::PoliteClient(std::string source, config::SourcePoliteness policy,
                           NoticeSink notices, bool keep_cookies)
    : source_(std::move(source)), policy_(policy), notices_(std::move(notices)), http_(keep_cookies) {}

void PoliteClient::notice(const std::string& kind, const std::string& message) const {
  spdlog::warn("{}: {}", source_, message);
  if (notices_) notices_(DataNotice{kind, source_, "", "", 0, message});
}

bool PoliteClient::circuit_open() const { return monotonic_ms() < circuit_until_ms_; }

void PoliteClient::open_circuit(int64_t seconds, const std::string& why) {
  circuit_until_ms_ = std::max(circuit_until_ms_, monotonic_ms() + seconds * 1000);
  notice("circuit_open", source_ + " paused for " + std::to_string(seconds) + " s: " + why);
}

Status PoliteClient::wait_for_circuit() const {
  int64_t left = circuit_until_ms_ - monotonic_ms();
  if (left <= 0) return Status::success();
  return make_error(source_ + " circuit is open for another " + std::to_string((left + 999) / 1000) +
                    " s after repeated rate limiting; not sending");
}

// Waits at least `ms` (a server's Retry-After is a floor): the deadline is
// kept at the clock's full resolution, since whole milliseconds would let the
// wait end up to 1 ms early.
Status PoliteClient::sleep_ms(int64_t ms) const {
  using Clock = std::chrono::steady_clock;
  const auto until = Clock::now() + std::chrono::milliseconds(ms);
  for (auto now = Clock::now(); now < until; now = Clock::now()) {
    if (stop_requested()) return make_error(source_ + ": stopped while waiting");
    std::this_thread::sleep_for(std::min<Clock::duration>(until - now, std::chrono::milliseconds(50)));
  }
  return Status::success();
}

Status PoliteClient::pace(const std::string& url) {
  auto [it, inserted] = buckets_.try_emplace(host_of(url), policy_.requests_per_s, policy_.burst);
  return sleep_ms(it->second.take(monotonic_ms()));
}

int64_t PoliteClient::backoff_ms(int attempt) {
  double full = std::min<double>(policy_.backoff_max_ms,
                                 policy_.backoff_base_ms * std::pow(2.0, std::min(attempt, 30)));
  std::uniform_real_distribution<double> factor(0.5, 1.0);
  return static_cast<int64_t>(full * factor(jitter_));
}

Result<HttpResponse> PoliteClient::get(const std::string& url, const RateLimitTest& rate_limited) {
  std::string last_problem;
  for (int attempt = 0; attempt <= policy_.max_retries; ++attempt) {
    if (Status s = wait_for_circuit(); !s) return s.take_error();
    if (Status s = pace(url); !s) return s.take_error();
    ++requests_sent_;
    bool timed_out = false;
    auto response = http_.get(url, policy_.timeout_ms, &timed_out);
    int64_t wait = backoff_ms(attempt);
    if (!response) {
      last_problem = response.error();
    } else if (response->status == 418) {
      int64_t ban_s = std::max<int64_t>(policy_.circuit_cooldown_s, retry_after_ms(*response) / 1000);
      open_circuit(ban_s, "HTTP 418: the server banned us for ignoring rate limits");
      return make_error(source_ + ": HTTP 418 (banned for " + std::to_string(ban_s) + " s): " +
                        snippet(response->body));
    } else if (response->status == 429 || (rate_limited && rate_limited(*response))) {
      last_problem = "HTTP " + std::to_string(response->status) + " Too Many Requests";
      int64_t after = retry_after_ms(*response);
      if (++consecutive_rate_limits_ >= policy_.circuit_after) {
        open_circuit(std::max<int64_t>(policy_.circuit_cooldown_s, after / 1000),
                     std::to_string(consecutive_rate_limits_) + " rate-limit answers in a row");
        return make_error(source_ + " is rate-limited (" + last_problem + "); circuit opened");
      }
      notice("rate_limited", source_ + " answered " + last_problem +
                                 (after >= 0 ? ", Retry-After " + std::to_string(after) + " ms" : ""));
      wait = std::max(wait, after);
    } else if (response->status >= 500) {
      last_problem = "HTTP " + std::to_string(response->status) + ": " + snippet(response->body);
    } else {
      consecutive_rate_limits_ = 0;
      return response;
    }
    if (attempt == policy_.max_retries) break;
    spdlog::info("{}: {}; retry {} of {} in {} ms", source_, last_problem, attempt + 1,
                 policy_.max_retries, wait);
    if (Status s = sleep_ms(wait); !s) return s.take_error();
  }
  return make_error(source_ + ": gave up after " + std::to_string(policy_.max_retries + 1) +
                    " attempts: " + last_problem);
}

}  // namespace nightshift::fetcher
