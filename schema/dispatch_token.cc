#include "schema/dispatch_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>

#include <array>
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
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key_hex.data(), static_cast<int>(key_hex.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  return to_hex(mac, std::min<std::size_t>(mac_len, kDispatchTokenHexLength / 2));
}

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace nightshift
