// Generic events and market-data notices.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace nightshift {

// A free-form event: a name plus string attributes. Used for stage lifecycle,
// samples in tests and anything that needs no typed payload.
struct Event {
  static constexpr const char* kType = "event";
  std::string name;
  std::map<std::string, std::string> attrs;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("attrs", attrs);
  }
};

// data.ready.<symbol>.<tf> and data.* notices from the fetcher.
struct DataNotice {
  static constexpr const char* kType = "data.notice";
  std::string kind;  // ready, rate_limited, circuit_open, circuit_closed, error
  std::string source;
  std::string symbol;
  std::string timeframe;
  uint64_t rows = 0;
  std::string message;

  template <class V>
  void visit(V& v) {
    v("kind", kind);
    v("source", source);
    v("symbol", symbol);
    v("timeframe", timeframe);
    v("rows", rows);
    v("message", message);
  }
};

}  // namespace nightshift
