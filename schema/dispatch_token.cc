#include "schema/dispatch_token.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sys/random.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <cerrno>
#include <cstring>

namespace nightshift {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string to_hex(const unsigned char* bytes, std::size_t n) {
  std::string out(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace

Result<std::string> new_dispatch_key() {
  std::array<unsigned char, kDispatchKeyHexLength / 2> key{};
  std::size_t filled = 0;
  while (filled < key.size()) {
    ssize_t n = getrandom(key.data() + filled, key.size() - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(std::string("getrandom: ") + std::strerror(errno));
    filled += static_cast<std::size_t>(n);
  }
  return to_hex(key.data(), key.size());
}

bool valid_dispatch_key(std::string_view key_hex) {
  if (key_hex.size() != kDispatchKeyHexLength) return false;
  for (char c : key_hex) {
    if (std::strchr(kHex, c) == nullptr || c == '\0') return false;
  }
  return true;
}

std::string dispatch_token(std::string_view key_hex, const JobKey& key, uint32_t attempt) {
  return DispatchSigner(key_hex).token(key, attempt);
}

DispatchSigner::DispatchSigner(std::string_view key_hex) {
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (hmac == nullptr) throw std::runtime_error("OpenSSL has no HMAC");
  ctx_ = EVP_MAC_CTX_new(hmac);
  EVP_MAC_free(hmac);  // the context holds its own reference
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (ctx_ == nullptr ||
      EVP_MAC_init(ctx_, reinterpret_cast<const unsigned char*>(key_hex.data()), key_hex.size(),
                   params) != 1) {
    throw std::runtime_error("OpenSSL HMAC-SHA256 cannot be keyed");
  }
}

DispatchSigner::~DispatchSigner() { EVP_MAC_CTX_free(ctx_); }

DispatchSigner& DispatchSigner::operator=(DispatchSigner&& other) noexcept {
  if (this != &other) {
    EVP_MAC_CTX_free(ctx_);
    ctx_ = other.ctx_;
    other.ctx_ = nullptr;
  }
  return *this;
}

std::string DispatchSigner::token(const JobKey& key, uint32_t attempt) {
  // Fields joined with a byte no valid name holds, so no two keys share a
  // message ("a" + "b/1" cannot be read as "a/b" + "1").
  std::string message = key.run;
  message += '\n';
  message += key.study;
  message += '\n';
  message += std::to_string(key.trial);
  message += '\n';
  message += std::to_string(attempt);
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t mac_len = 0;
  // A null key re-initialises with the key already set.
  EVP_MAC_init(ctx_, nullptr, 0, nullptr);
  EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  EVP_MAC_final(ctx_, mac, &mac_len, sizeof mac);
  return to_hex(mac, std::min<std::size_t>(mac_len, kDispatchTokenHexLength / 2));
}

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace nightshift
