// Dispatch tokens: the proof that a job attempt was sent by its run's
// scheduler. A claim in a message (a job key, src.stage) is not proof; a
// token is, because only the scheduler and the persister hold the run's key.
//
// The scheduler draws the run's dispatch key once (256 bits from getrandom)
// and records it with the plan through the persister before it dispatches
// anything. Each attempt's token is HMAC-SHA256(key, run, study, trial,
// attempt), 128 bits in hex: it travels in the Job, comes back in the
// JobResult, and the persister recomputes it. Deriving the token instead of
// storing one per attempt means a retry needs no new record before it goes
// out, so no result can race ahead of the record of its own token.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "schema/job_messages.h"
#include "schema/result.h"

struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX

namespace nightshift {

inline constexpr std::size_t kDispatchKeyHexLength = 64;    // 256 bits
inline constexpr std::size_t kDispatchTokenHexLength = 32;  // 128 bits

// A fresh run key from the kernel's CSPRNG, as hex.
Result<std::string> new_dispatch_key();

bool valid_dispatch_key(std::string_view key_hex);

// The token of `attempt` of the job `key` under the run key `key_hex`.
std::string dispatch_token(std::string_view key_hex, const JobKey& key, uint32_t attempt);

// The same under one run key, keeping the keyed HMAC state between tokens
// (0.6 us a token instead of 4): what the persister uses per result.
class DispatchSigner {
 public:
  explicit DispatchSigner(std::string_view key_hex);
  ~DispatchSigner();
  DispatchSigner(DispatchSigner&& other) noexcept : ctx_(other.ctx_) { other.ctx_ = nullptr; }
  DispatchSigner& operator=(DispatchSigner&& other) noexcept;
  DispatchSigner(const DispatchSigner&) = delete;
  DispatchSigner& operator=(const DispatchSigner&) = delete;

  std::string token(const JobKey& key, uint32_t attempt);

 private:
  evp_mac_ctx_st* ctx_ = nullptr;  // EVP_MAC_CTX, keyed once
};

// Compares in time independent of where the texts differ.
bool same_secret(std::string_view a, std::string_view b);

}  // namespace nightshift
