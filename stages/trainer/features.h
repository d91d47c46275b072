// Features from OHLCV bars with no look-ahead: the row for bar t is computed
// from bars 0..t only (every indicator is a forward recursion or a trailing
// window). The feature spec is named and versioned; an artifact records it so
// `nightshift predict` recomputes exactly the same columns.
#pragma once

#include <Eigen/Dense>

#include <cstddef>
#include <string>
#include <vector>

#include "schema/data_messages.h"

namespace nightshift::trainer {

struct FeatureSpec {
  std::string name = "ohlcv_basic";
  int version = 1;
  std::vector<int> return_lags = {1, 2, 4, 8, 16};  // log return over k bars
  int lagged_returns = 3;                           // 1-bar returns at t-1 .. t-n
  std::vector<int> volatility_windows = {10, 30};
  int rsi_period = 14;
  int macd_fast = 12, macd_slow = 26, macd_signal = 9;
  int atr_period = 14;
  int bollinger_window = 20;
  int volume_window = 20;
  bool calendar = true;  // hour / weekday encodings, intraday timeframes only

  std::string id() const { return name + "/v" + std::to_string(version); }
};

// The default spec, and the spec named by an id such as "ohlcv_basic/v1".
FeatureSpec default_feature_spec();

// Row-major by bar: values(t, j) is feature j at bar t. Rows before
// `first_valid_row` are warm-up (some trailing window is incomplete).
struct FeatureMatrix {
  std::string spec_id;
  std::vector<std::string> names;
  Eigen::MatrixXd values;  // bars x features
  std::size_t first_valid_row = 0;

  std::size_t rows() const { return static_cast<std::size_t>(values.rows()); }
  std::size_t cols() const { return static_cast<std::size_t>(values.cols()); }
  std::size_t bytes() const { return static_cast<std::size_t>(values.size()) * sizeof(double); }
};

// `timeframe_minutes` decides whether calendar encodings apply (< 1 day).
FeatureMatrix compute_features(const Bars& bars, const FeatureSpec& spec, int timeframe_minutes);

}  // namespace nightshift::trainer
