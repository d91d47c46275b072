// Market data on the wire: the dataset service's request and reply.
// Bars travel columnar (one array per field), oldest first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nightshift {

struct Bars {
  std::vector<int64_t> ts;  // bar open time, seconds since epoch (UTC)
  std::vector<double> open, high, low, close, volume;

  std::size_t size() const { return ts.size(); }

  template <class V>
  void visit(V& v) {
    v("ts", ts);
    v("open", open);
    v("high", high);
    v("low", low);
    v("close", close);
    v("volume", volume);
  }
};

struct DatasetRequest {
  static constexpr const char* kType = "dataset.request";
  std::string source;  // synthetic, yahoo, binance, csv
  std::string symbol;
  std::string timeframe;
  int64_t start_ts = 0;  // seconds since epoch; 0 = source default history
  int64_t end_ts = 0;    // 0 = now
  // The fingerprint the requester already holds for this request, if any:
  // when it still matches, the reply is "unchanged" and carries no bars.
  std::optional<std::string> have_fingerprint;

  template <class V>
  void visit(V& v) {
    v("source", source);
    v("symbol", symbol);
    v("timeframe", timeframe);
    v("start_ts", start_ts);
    v("end_ts", end_ts);
    v("have_fingerprint", have_fingerprint);
  }
};

// A reply is one or more message parts ([type][part 0]...[part n-1]), each a
// DatasetReply with the same metadata and a slice of the bars, so that a
// dataset larger than the bus frame cap still fits (see
// broker/dataset_protocol.h). The receiver concatenates the slices in order.
struct DatasetReply {
  static constexpr const char* kType = "dataset.reply";
  std::string status;  // ok, unchanged, error
  std::string error;
  std::string fingerprint;  // dataset_fingerprint() of the whole bar set
  std::string source;
  std::string symbol;
  std::string timeframe;
  bool synthetic = false;
  uint32_t chunk = 0;       // index of this part
  uint32_t chunks = 1;      // parts in the whole reply
  uint64_t total_rows = 0;  // rows in the whole reply
  Bars bars;  // this part's slice; empty when unchanged or error

  template <class V>
  void visit(V& v) {
    v("status", status);
    v("error", error);
    v("fingerprint", fingerprint);
    v("source", source);
    v("symbol", symbol);
    v("timeframe", timeframe);
    v("synthetic", synthetic);
    v("chunk", chunk);
    v("chunks", chunks);
    v("total_rows", total_rows);
    v("bars", bars);
  }
};

}  // namespace nightshift
