#pragma once

// What the outbound end-to-end tests (outbound_test.cpp, outbound_privacy_test.cpp,
// at_rest_test.cpp) share: the fake platform server the gateway sends to, the clock the webhooks
// they post are dated by, and the outbound API as a client uses it.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "e2e/checks.hpp"
#include "integration/delivery/receiver.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

namespace sb::test::outbound_e2e {

inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline long now_s() {
  return static_cast<long>(now_ms() / 1000);
}

/// POST /v1/messages with `token` ("" = none) and `extra` headers. A 503 is retried as a client
/// would (a sender answers it for a moment after start, while it resumes its channel's queue
/// from the outbox; nothing is stored then), and must carry Retry-After.
inline http_result send_message(const gateway_process& gw, const std::string& token,
                                const std::string& body, const header_list& extra = {}) {
  header_list h = token.empty() ? header_list{} : bearer(token);
  h.emplace_back("Content-Type", "application/json");
  h.insert(h.end(), extra.begin(), extra.end());
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  for (;;) {
    auto r = request("POST", gw.base_url() + "/v1/messages", h, body);
    if (r.status != 503 || std::chrono::steady_clock::now() >= until) {
      return r;
    }
    CHECK_FALSE(r.header("retry-after").empty());
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

/// Polls GET /v1/messages/{id} until its state is `state` (a generous bound only); the last
/// answer.
inline http_result wait_message_state(const gateway_process& gw, const std::string& token,
                                      const std::string& id, const std::string& state) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  for (;;) {
    auto r = request("GET", gw.base_url() + "/v1/messages/" + id, bearer(token));
    e2e_checks::require_status(r, 200);
    if (json::parse(r.body)["state"].str() == state ||
        std::chrono::steady_clock::now() >= until) {
      INFO(r.body);
      REQUIRE(json::parse(r.body)["state"].str() == state);
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

/// The `outbound.status` event that says `id` was sent, once it is there (a generous bound
/// only).
inline json wait_sent_event(const gateway_process& gw, const std::string& token,
                            const std::string& id) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  for (;;) {
    json all = get_events(gw.base_url(), token, "after=0&limit=1000&types=outbound.status");
    for (const auto& e : all["events"].items()) {
      if (e["outbound"]["id"].str() == id && e["outbound"]["state"].str() == "sent") {
        return e;
      }
    }
    REQUIRE(std::chrono::steady_clock::now() < until);
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

/// The subject of the newest `message` event of `conversation`, as `token` reads it.
inline std::string newest_subject(const gateway_process& gw, const std::string& token,
                                  const std::string& conversation) {
  std::string subject;
  json all = get_events(gw.base_url(), token, "after=0&limit=1000&types=message");
  for (const auto& e : all["events"].items()) {
    if (e["conversation"].str() == conversation) {
      subject = e["subject"].str();
    }
  }
  REQUIRE_FALSE(subject.empty());
  return subject;
}

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
