#include "loadtest/sse_count.hpp"

#include <cstring>

namespace sb::loadtest {

void sse_counter::feed(std::string_view chunk) {
  const char* p = chunk.data();
  const char* const end = p + chunk.size();
  while (p < end) {
    const auto* nl =
        static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* stop = nl != nullptr ? nl : end;
    if (!overflow_) {
      const std::size_t room = k_kept - line_.size();
      const auto n = static_cast<std::size_t>(stop - p);
      line_.append(p, n < room ? n : room);
      overflow_ = n > room;
    }
    if (nl == nullptr) {
      return;
    }
    end_line();
    p = nl + 1;
  }
}

void sse_counter::end_line() {
  std::string_view l(line_);
  if (!l.empty() && l.back() == '\r') {
    l.remove_suffix(1);
  }
  if (!overflow_ && l.rfind("id:", 0) == 0) {
    l.remove_prefix(3);
    if (!l.empty() && l.front() == ' ') {
      l.remove_prefix(1);
    }
    std::uint64_t v = 0;
    bool digits = !l.empty();
    for (char c : l) {
      if (c < '0' || c > '9') {
        digits = false;
        break;
      }
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (digits) {
      ++events_;
      last_id_ = v;
    }
  }
  line_.clear();
  overflow_ = false;
}

}  // namespace sb::loadtest
