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

// Where a replayed message stands in its replay (stages/replay). A replay
// publishes the stored body unchanged except for one entry, "replay", added
// at the end of the body's top-level map: the header (v, type, ts, src, seq)
// and data stay the original ones. Decoders look fields up by name, so
// consumers that do not know the entry ignore it.
struct ReplayPosition {
  std::string run;
  uint64_t index = 0;      // 0-based position in this replay (counts on across --loop)
  uint64_t total = 0;      // events in the replayed range
  int64_t offset_ns = 0;   // this event's ts minus the first stored event's of the range
  int64_t row = 0;         // events.id of the stored row

  template <class V>
  void visit(V& v) {
    v("run", run);
    v("index", index);
    v("total", total);
    v("offset_ns", offset_ns);
    v("row", row);
  }
};

template <typename Payload>
struct Message {
  Header header;
  Payload payload;
};

}  // namespace nightshift
