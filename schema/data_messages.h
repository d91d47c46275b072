// Market data on the wire: the dataset service's request and reply.
// Bars travel columnar (one array per field), oldest first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nightshift {

// One bar, for filling or reading Bars a row at a time.
struct Bar {
  int64_t ts = 0;  // bar open time, seconds since epoch (UTC)
  double open = 0, high = 0, low = 0, close = 0, volume = 0;
};

// Columnar bars. Add rows through the helpers below, never column by column,
// so the six columns keep one length; columns_agree() checks that for bars
// that came off the wire.
struct Bars {
  std::vector<int64_t> ts;  // bar open time, seconds since epoch (UTC)
  std::vector<double> open, high, low, close, volume;

  std::size_t size() const { return ts.size(); }

  bool columns_agree() const {
    const std::size_t n = ts.size();
    return open.size() == n && high.size() == n && low.size() == n && close.size() == n &&
           volume.size() == n;
  }

  // Room for `rows` rows in every column.
  void reserve(std::size_t rows) {
    for_each_column([rows](auto& column) { column.reserve(rows); });
  }

  void push_back(const Bar& bar) {
    ts.push_back(bar.ts);
    open.push_back(bar.open);
    high.push_back(bar.high);
    low.push_back(bar.low);
    close.push_back(bar.close);
    volume.push_back(bar.volume);
  }

  Bar row(std::size_t i) const { return {ts[i], open[i], high[i], low[i], close[i], volume[i]}; }

  // Appends every row of `other` after ours.
  void append(const Bars& other) { append_columns(other, 0, other.size()); }

  // Rows [from, to) as new Bars.
  Bars slice(std::size_t from, std::size_t to) const {
    Bars out;
    out.append_columns(*this, from, to);
    return out;
  }

  template <class V>
  void visit(V& v) {
    v("ts", ts);
    v("open", open);
    v("high", high);
    v("low", low);
    v("close", close);
    v("volume", volume);
  }

 private:
  template <class F>
  void for_each_column(F f) {
    f(ts);
    f(open);
    f(high);
    f(low);
    f(close);
    f(volume);
  }

  void append_columns(const Bars& other, std::size_t from, std::size_t to) {
    auto add = [from, to](auto& dst, const auto& src) {
      dst.insert(dst.end(), src.begin() + static_cast<std::ptrdiff_t>(from),
                 src.begin() + static_cast<std::ptrdiff_t>(to));
    };
    add(ts, other.ts);
    add(open, other.open);
    add(high, other.high);
    add(low, other.low);
    add(close, other.close);
    add(volume, other.volume);
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
  // Only the fingerprint is wanted (the scheduler's result cache): the reply
  // has status "fingerprint" and no bars.
  std::optional<bool> fingerprint_only = std::nullopt;

  template <class V>
  void visit(V& v) {
    v("source", source);
    v("symbol", symbol);
    v("timeframe", timeframe);
    v("start_ts", start_ts);
    v("end_ts", end_ts);
    v("have_fingerprint", have_fingerprint);
    v("fingerprint_only", fingerprint_only);
  }
};

// A reply is one or more message parts ([type][part 0]...[part n-1]), each a
// DatasetReply with the same metadata and a slice of the bars, so that a
// dataset larger than the bus frame cap still fits (see
// broker/dataset_protocol.h). The receiver concatenates the slices in order.
struct DatasetReply {
  static constexpr const char* kType = "dataset.reply";
  std::string status;  // ok, unchanged, fingerprint (fingerprint_only asked), error
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
