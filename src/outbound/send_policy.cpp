#include "outbound/send_policy.hpp"

namespace sb::outbound {

namespace {

constexpr std::int64_t k_hour_ms = 3600LL * 1000;
/// Meta: the CUSTOMER_FEEDBACK tag only within 7 days of the person's last message.
constexpr std::int64_t k_customer_feedback_hours = 7 * 24;

bool within(std::int64_t last_inbound_ms, timestamp now, std::int64_t span_ms) {
  // A message stamped after `now` (the platform's clock ahead of ours) counts as just received.
  return last_inbound_ms != 0 && now.unix_ms - last_inbound_ms < span_ms;
}

send_refusal window_refusal(const send_facts& f) {
  const std::string hours = std::to_string(f.window.window_hours);
  std::string m = f.window.platform + " allows free-form messages only within " + hours +
                  " hours of the person's last message";
  m += f.last_inbound_ms == 0 ? " (the person has not written on this conversation)"
                              : " (their last message is older)";
  if (f.window.template_opens_window) {
    m += "; send an approved message template (\"template\") instead";
  } else if (f.window.human_agent_hours > 0) {
    const bool tagged = f.messaging_type == "MESSAGE_TAG" && f.tag == "HUMAN_AGENT";
    m += tagged ? "; the HUMAN_AGENT tag, too, is allowed only within " +
                      std::to_string(f.window.human_agent_hours / 24) +
                      " days of the person's last message"
                : "; within " + std::to_string(f.window.human_agent_hours / 24) +
                      " days of it a human agent may answer with \"messaging_type\":"
                      "\"MESSAGE_TAG\" and \"tag\":\"HUMAN_AGENT\"";
  } else {
    m += "; outside it a human agent's answer needs the HUMAN_AGENT tag, which this channel "
         "does not enable (channel setting human_agent_tag)";
  }
  return {errc::window_closed, m};
}

}  // namespace

bool within_reply_window(std::int64_t last_inbound_ms, timestamp now) noexcept {
  return within(last_inbound_ms, now, k_reply_window_ms);
}

std::optional<send_refusal> decide_send(const send_facts& f) {
  const bool is_reply =
      f.purpose == privacy::purpose::support && within_reply_window(f.last_inbound_ms, f.now);
  const privacy::consent_state* state = f.consent ? &*f.consent : nullptr;
  // An opt-out and a restriction leave the same: support replies, or nothing.
  auto refused = [&](errc code, const char* why) {
    return send_refusal{code, std::string(why) +
                                  (f.tenant_allows_replies
                                       ? "; only support replies within 24 hours of their own "
                                         "message may be sent"
                                       : "; this tenant sends them nothing "
                                         "(privacy.allow_replies_after_opt_out is false)")};
  };
  switch (privacy::send_decision(state, f.purpose, is_reply, f.tenant_allows_replies)) {
    case privacy::send_verdict::allowed:
      break;
    case privacy::send_verdict::purpose_refused:
      return send_refusal{errc::consent_required,
                          std::string("the person has not granted consent for ") +
                              privacy::to_string(f.purpose) +
                              " messages (PUT /v1/subjects/{subject}/consent records it)"};
    case privacy::send_verdict::opted_out:
      return refused(errc::opted_out, "the person opted out of messages");
    case privacy::send_verdict::restricted:
      return refused(errc::restricted, "the person's data is restricted");
  }

  if (f.window.window_hours <= 0) {
    return std::nullopt;  // the platform has no window
  }
  if (within(f.last_inbound_ms, f.now, f.window.window_hours * k_hour_ms)) {
    return std::nullopt;
  }
  if (f.is_template && f.window.template_opens_window) {
    return std::nullopt;
  }
  if (f.messaging_type == "MESSAGE_TAG" && f.window.message_tags) {
    if (f.tag == "HUMAN_AGENT") {
      if (f.window.human_agent_hours > 0 &&
          within(f.last_inbound_ms, f.now, f.window.human_agent_hours * k_hour_ms)) {
        return std::nullopt;
      }
    } else if (f.tag == "CUSTOMER_FEEDBACK") {
      if (within(f.last_inbound_ms, f.now, k_customer_feedback_hours * k_hour_ms)) {
        return std::nullopt;
      }
    } else if (!f.tag.empty()) {
      // ACCOUNT_UPDATE, CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE: Meta allows these
      // non-promotional updates at any time (the adapter refuses other tags, and any tag with
      // purpose marketing).
      return std::nullopt;
    }
  }
  return window_refusal(f);
}

}  // namespace sb::outbound
