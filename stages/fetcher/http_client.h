// HttpClient: a thin RAII wrapper over one libcurl easy handle. One handle per
// source keeps connections alive between pages and, when cookies are enabled,
// holds the cookie jar in memory (Yahoo's consent cookie).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "schema/result.h"

namespace nightshift::fetcher {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names, last value wins

  std::string header(const std::string& lower_name) const;
};

class HttpClient {
 public:
  explicit HttpClient(bool keep_cookies = false);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // GET `url`. Transport failures (refused, DNS, timeout) are errors; any
  // HTTP status, 4xx and 5xx included, is a response for the caller to judge.
  // `timed_out` tells the two apart for retry decisions.
  Result<HttpResponse> get(const std::string& url, int timeout_ms, bool* timed_out = nullptr);

  // Percent-encodes a query value.
  static std::string escape(const std::string& text);

 private:
  void* curl_ = nullptr;  // CURL*, kept opaque so curl.h stays out of headers
};

}  // namespace nightshift::fetcher
