#include "stages/fetcher/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>
#include <string_view>

namespace nightshift::fetcher {
namespace {

size_t on_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  std::string_view line(data, size * count);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    auto first = value.find_first_not_of(" \t");
    auto last = value.find_last_not_of(" \t\r\n");
    value = first == std::string_view::npos ? std::string_view() : value.substr(first, last - first + 1);
    if (name == "content-length") {
      // One allocation for the body instead of a doubling series of copies
      // (a 1000-row klines page is ~170 KB). Capped: the header is the server's word.
      unsigned long long length = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (ec == std::errc() && length <= (64ULL << 20)) response->body.reserve(length);
    }
    response->headers[std::move(name)] = std::string(value);
  }
  return size * count;
}

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  auto found = headers.find(lower_name);
  return found == headers.end() ? std::string() : found->second;
}

HttpClient::HttpClient(bool keep_cookies) {
  global_init_once();
  CURL* curl = curl_easy_init();
  curl_ = curl;
  if (curl == nullptr) return;
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM games with our stop signals
  // gzip only: brotli at the quality some servers pick costs the server more
  // time than the bytes save (cpp-httplib: ~300 ms for a 100 KB klines page).
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt(curl, CURLOPT_USERAGENT,
                   "Mozilla/5.0 (X11; Linux x86_64) nightshift/0.1 (market-data fetcher)");
  if (keep_cookies) curl_easy_setopt(curl, CURLOPT_COOKIEFILE, "");  // in-memory jar
}

HttpClient::~HttpClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Result<HttpResponse> HttpClient::get(const std::string& url, int timeout_ms, bool* timed_out) {
  if (timed_out != nullptr) *timed_out = false;
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return make_error("libcurl could not create a handle");
  HttpResponse response;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
  CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    if (timed_out != nullptr) *timed_out = code == CURLE_OPERATION_TIMEDOUT;
    return make_error("GET " + url + ": " + curl_easy_strerror(code));
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::string HttpClient::escape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace nightshift::fetcher
