#pragma once

#include <string_view>
#include <vector>

/// The static files the gateway serves, compiled into the binary from web/ at build time
/// (cmake/embed_assets.cmake): the web chat widget (web/widget/) and the operator console
/// (web/console/). No CDN and nothing to deploy beside the binary.
namespace sb::http {

struct asset {
  std::string_view path;          ///< relative to web/: "widget/widget.js", "console/index.html"
  std::string_view content_type;  ///< from the extension
  std::string_view bytes;
  std::string_view etag;  ///< a quoted prefix of the file's SHA-256, for If-None-Match
};

/// Every embedded file, sorted by path.
const std::vector<asset>& assets();

/// The file at `path`, or nullptr.
inline const asset* find_asset(std::string_view path) {
  for (const auto& a : assets()) {
    if (a.path == path) {
      return &a;
    }
  }
  return nullptr;
}

}  // namespace sb::http
