// The header every bus message carries, and the envelope that wraps a payload.
// Wire body: {v, type, ts, src: {host, stage, pid}, seq, data: {...}}.
#pragma once

#include <cstdint>
#include <string>

namespace nightshift {

// Major schema version. A decoder drops messages with another major version.
inline constexpr uint32_t kSchemaMajor = 1;

struct Source {
  std::string host;
  std::string stage;
  int64_t pid = 0;

  template <class V>
  void visit(V& v) {
    v("host", host);
    v("stage", stage);
    v("pid", pid);
  }
};

struct Header {
  uint32_t v = kSchemaMajor;
  std::string type;
  int64_t ts_ns = 0;  // nanoseconds since the Unix epoch
  Source src;
  uint64_t seq = 0;  // per-publisher counter; gaps expose loss

  template <class V>
  void visit(V& v) {
    v("v", this->v);
    v("type", type);
    v("ts", ts_ns);
    v("src", src);
    v("seq", seq);
  }
};

template <typename Payload>
struct Message {
  Header header;
  Payload payload;
};

}  // namespace nightshift
