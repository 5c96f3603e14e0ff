#pragma once

#include <string_view>
#include <vector>

/// The static files the gateway serves, compiled into the binary from web/ at build time
/// (cmake/embed_assets.cmake): the web chat widget (web/widget/), the operator console
/// (web/console/) and the OpenAPI document (docs/openapi.json, `GET /v1/openapi.json`). No CDN
/// and nothing to deploy beside the binary.
namespace sb::http {

struct asset {
  /// Relative to web/ ("widget/widget.js", "console/index.html"), or for the files of the source
  /// tree embedded beside them, to the tree's root ("docs/openapi.json").
  std::string_view path;
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
