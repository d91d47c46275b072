// The dashboard's static files, embedded at build time from
// stages/gateway/web/ (and Debian's Chart.js) by cmake/embed_web.cmake.
// Lookup is by exact name in a fixed table: no request path ever reaches
// the file system.
#pragma once

#include <string_view>

namespace nightshift::gateway {

struct WebAsset {
  std::string_view content_type;
  std::string_view body;
};

// "/index.html", "/app.js", ...; nullptr for anything else.
const WebAsset* find_web_asset(std::string_view path);

}  // namespace nightshift::gateway
