#pragma once

// What the outbound end-to-end tests (outbound_test.cpp, outbound_privacy_test.cpp) share: the
// fake platform server the gateway sends to.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "integration/delivery/receiver.hpp"
#include "support/http_client.hpp"

namespace sb::test::outbound_e2e {

/// WhatsApp, Telegram and Messenger on one local server: each channel's `api_base` points at
/// its own path prefix. Answers as the platforms do, with fresh message ids; `failing` makes
/// every answer a 503.
class fake_platforms {
 public:
  fake_platforms()
      : rx_([this](const received_request& r, std::size_t index) { return answer(r, index); }) {}

  std::string base(const std::string& prefix) const { return rx_.url(prefix); }
  std::atomic<int>& failing() { return failing_; }

  /// The requests whose target starts with `prefix`.
  std::vector<received_request> to(const std::string& prefix) const {
    std::vector<received_request> out;
    for (auto& r : rx_.requests()) {
      if (r.target.rfind(prefix, 0) == 0) {
        out.push_back(r);
      }
    }
    return out;
  }

  /// Waits until `n` requests went to `prefix` (a generous bound only).
  bool wait_for(const std::string& prefix, std::size_t n) {
    return rx_.wait_until([&](const std::vector<received_request>& all) {
      std::size_t k = 0;
      for (const auto& r : all) {
        k += r.target.rfind(prefix, 0) == 0 ? 1 : 0;
      }
      return k >= n;
    });
  }

 private:
  reply answer(const received_request& r, std::size_t index) {
    if (int s = failing_.load(); s != 0) {
      return reply{s,
                   {{"Content-Type", "application/json"}},
                   R"({"error":{"message":"Service temporarily unavailable","code":2}})"};
    }
    const std::string n = std::to_string(index + 1);
    const std::vector<std::pair<std::string, std::string>> json_type{
        {"Content-Type", "application/json"}};
    if (r.target.rfind("/wa/", 0) == 0) {
      return reply{200, json_type,
                   R"({"messaging_product":"whatsapp","contacts":[{"input":"x","wa_id":"x"}],)"
                   R"("messages":[{"id":"wamid.OUT)" +
                       n + R"("}]})"};
    }
    if (r.target.rfind("/tg/", 0) == 0) {
      return reply{200, json_type,
                   R"({"ok":true,"result":{"message_id":)" + std::to_string(7000 + index) +
                       R"(,"chat":{"id":532189746,"type":"private"},"date":1733230345}})"};
    }
    if (r.target.rfind("/fb/", 0) == 0) {
      return reply{200, json_type, R"({"recipient_id":"x","message_id":"m_OUT)" + n + R"("})"};
    }
    return reply{404, {}, "{}"};
  }

  std::atomic<int> failing_{0};
  receiver rx_;
};
}  // namespace sb::test::outbound_e2e
