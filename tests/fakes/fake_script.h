// FakeScript: the answers a fake vendor library gives, read from the file
// named by an environment variable each time the fake's init entry point runs
// (so one test process can play many scenarios against the same loaded
// library). One `key = value, value, ...` per line, `#` starts a comment.
// Each lookup of a key takes its next value and the last one repeats, so a
// counter can move, wrap or start failing. A value `!N` is an error: the
// entry point returns status N. An absent key answers the library's
// "not supported" status.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nightshift::fake {

// One answer: a value, or the status to return instead.
struct Answer {
  std::optional<int64_t> status;  // set: return this instead of success
  std::string text;               // the value as written
  int64_t integer() const;
  uint64_t unsigned_integer() const;
  double real() const;
};

class FakeScript {
 public:
  explicit FakeScript(int64_t not_supported_status) : not_supported_(not_supported_status) {}

  // Reads the file named by `env_var`; false if unset or unreadable.
  bool load(const char* env_var);
  bool has(const std::string& key) const { return values_.count(key) > 0; }
  // The next answer for `key`.
  Answer next(const std::string& key);
  // next(key) as an integer, or `fallback` when the key is absent.
  int64_t integer_or(const std::string& key, int64_t fallback);
  // next(key) split at spaces, for answers that are lists.
  std::vector<std::string> words(const std::string& key);

 private:
  struct Values {
    std::vector<std::string> items;
    std::size_t position = 0;
  };
  int64_t not_supported_;
  std::map<std::string, Values> values_;
};

// "<device>.<field>", the key of a per-device answer.
std::string device_key(uint32_t device, const char* field);

}  // namespace nightshift::fake
