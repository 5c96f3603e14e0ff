#include "adapters/outbound/message.hpp"

namespace sb::adapters {

const char* to_string(media_kind k) noexcept {
  switch (k) {
    case media_kind::image:
      return "image";
    case media_kind::video:
      return "video";
    case media_kind::audio:
      return "audio";
    case media_kind::document:
      return "document";
    case media_kind::sticker:
      return "sticker";
  }
  return "image";
}

std::optional<media_kind> media_kind_from(std::string_view s) {
  if (s == "image") {
    return media_kind::image;
  }
  if (s == "video") {
    return media_kind::video;
  }
  if (s == "audio") {
    return media_kind::audio;
  }
  if (s == "document") {
    return media_kind::document;
  }
  if (s == "sticker") {
    return media_kind::sticker;
  }
  return std::nullopt;
}

}  // namespace sb::adapters
