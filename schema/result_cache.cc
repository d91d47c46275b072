#include "schema/result_cache.h"

#include <openssl/evp.h>

#include <fmt/format.h>

#include <stdexcept>

namespace nightshift {
namespace {

// Length-prefixed, so no two different identities render the same text.
void add(std::string& text, std::string_view field) {
  text += std::to_string(field.size());
  text += ':';
  text += field;
  text += ';';
}

}  // namespace

CacheIdentity cache_identity(const Job& spec, JobKind kind, std::string params_json,
                             std::string data_fingerprint, std::string gates,
                             std::string code_version) {
  CacheIdentity id;
  id.data_fingerprint = std::move(data_fingerprint);
  id.source = spec.source;
  id.symbol = spec.symbol;
  id.timeframe = spec.timeframe;
  id.horizon = spec.horizon;
  id.model = spec.model;
  id.kind = kind;
  id.feature_spec = spec.feature_spec.value_or("");
  id.cv = spec.cv;
  id.params_json = std::move(params_json);
  if (kind == JobKind::final_fit) id.gates = std::move(gates);
  id.code_version = std::move(code_version);
  return id;
}

std::string result_cache_key(const CacheIdentity& id) {
  std::string text;
  add(text, "nightshift-result-cache-1");
  add(text, id.data_fingerprint);
  add(text, id.source);
  add(text, id.symbol);
  add(text, id.timeframe);
  add(text, std::to_string(id.horizon));
  add(text, id.model);
  add(text, wire_text(id.kind));
  add(text, id.feature_spec);
  add(text, wire_text(id.cv.scheme));
  add(text, std::to_string(id.cv.n_splits));
  add(text, std::to_string(id.cv.embargo_minutes));
  add(text, fmt::format("{:.17g}", id.cv.holdout_fraction));
  add(text, id.params_json);
  add(text, id.gates);
  add(text, id.code_version);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL SHA-256 failed");
  }
  std::string hex;
  for (unsigned int i = 0; i < 16 && i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

bool cacheable(const Job& job) { return !job.memory_probe.has_value(); }

}  // namespace nightshift
