#pragma once

#include <string>
#include <vector>

#include "core/json.hpp"

/// Realistic platform webhook bodies for the e2e tests, shaped as the platforms send them
/// (WhatsApp Cloud API webhooks, Telegram Bot API updates, Shopify webhooks).
namespace sb::test::payloads {

inline std::string quoted(const std::string& s) {
  std::string out;
  sb::json::append_string(out, s);  // the core writer, not sb::test::json
  return out;
}

inline std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) {
      out += ',';
    }
    out += p;
  }
  return out;
}

// ---- WhatsApp Cloud API ---------------------------------------------------------------------

inline constexpr const char* wa_phone_number_id = "106540352242922";
inline constexpr const char* wa_business_account_id = "102290129340398";

inline std::string wa_contact(const std::string& wa_id, const std::string& name) {
  return R"({"profile":{"name":)" + quoted(name) + R"(},"wa_id":)" + quoted(wa_id) + "}";
}

inline std::string wa_text(const std::string& wamid, const std::string& from,
                           const std::string& text, long timestamp) {
  return R"({"from":)" + quoted(from) + R"(,"id":)" + quoted(wamid) + R"(,"timestamp":")" +
         std::to_string(timestamp) + R"(","text":{"body":)" + quoted(text) + R"(},"type":"text"})";
}

inline std::string wa_image(const std::string& wamid, const std::string& from,
                            const std::string& media_id, const std::string& caption,
                            long timestamp) {
  return R"({"from":)" + quoted(from) + R"(,"id":)" + quoted(wamid) + R"(,"timestamp":")" +
         std::to_string(timestamp) + R"(","type":"image","image":{"caption":)" + quoted(caption) +
         R"(,"mime_type":"image/jpeg","sha256":"HgKhDaeVPvSKaJ0Z6ecYoEqdlMnNMQ4fodvNhL4Hh1M=","id":)" +
         quoted(media_id) + "}}";
}

inline std::string wa_status(const std::string& wamid, const std::string& state,
                             const std::string& recipient, long timestamp) {
  return R"({"id":)" + quoted(wamid) + R"(,"status":)" + quoted(state) + R"(,"timestamp":")" +
         std::to_string(timestamp) + R"(","recipient_id":)" + quoted(recipient) +
         R"(,"conversation":{"id":"cfe3a4b5c6d7e8f9a0b1c2d3e4f5a6b7","origin":{"type":"service"}},)"
         R"("pricing":{"billable":true,"pricing_model":"CBP","category":"service"}})";
}

/// The `value` of one `changes[]` element.
inline std::string wa_value(const std::vector<std::string>& contacts,
                            const std::vector<std::string>& messages,
                            const std::vector<std::string>& statuses = {}) {
  std::string v = R"({"messaging_product":"whatsapp","metadata":{"display_phone_number":)"
                  R"("15550783881","phone_number_id":")" +
                  std::string(wa_phone_number_id) + R"("})";
  if (!contacts.empty()) {
    v += R"(,"contacts":[)" + join(contacts) + "]";
  }
  if (!messages.empty()) {
    v += R"(,"messages":[)" + join(messages) + "]";
  }
  if (!statuses.empty()) {
    v += R"(,"statuses":[)" + join(statuses) + "]";
  }
  return v + "}";
}

/// A webhook body with one `entry[]` per value.
inline std::string wa_webhook(const std::vector<std::string>& values) {
  std::vector<std::string> entries;
  for (const auto& v : values) {
    entries.push_back(R"({"id":")" + std::string(wa_business_account_id) +
                      R"(","changes":[{"value":)" + v + R"(,"field":"messages"}]})");
  }
  return R"({"object":"whatsapp_business_account","entry":[)" + join(entries) + "]}";
}

/// The commonest webhook: one text message from one person.
inline std::string wa_text_webhook(const std::string& wamid, const std::string& wa_id,
                                   const std::string& name, const std::string& text,
                                   long timestamp = 1749416383) {
  return wa_webhook(
      {wa_value({wa_contact(wa_id, name)}, {wa_text(wamid, wa_id, text, timestamp)})});
}

/// One status update about a message the business sent.
inline std::string wa_status_webhook(const std::string& wamid, const std::string& state,
                                     const std::string& recipient, long timestamp = 1749416401) {
  return wa_webhook({wa_value({}, {}, {wa_status(wamid, state, recipient, timestamp)})});
}

/// A realistic wamid, distinct per `n`.
inline std::string wamid(int n) {
  std::string tail = std::to_string(100000 + n);
  return "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdCNjZGMjg3QjE0NDQ5QTQ4" + tail + "RQA=";
}

}  // namespace sb::test::payloads
