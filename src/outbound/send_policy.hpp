#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "adapters/outbound.hpp"
#include "core/error.hpp"
#include "core/time.hpp"
#include "privacy/consent.hpp"

/// May this outbound message go to this person now? The window and consent rules of
/// docs/DESIGN.md §7 and docs/outbound.md "Window and consent", as a plain function of plain
/// facts (the clock is one of them), so tests reach every branch without actors or time.
namespace sb::outbound {

/// How long after the person's last message an answer counts as a reply (consent).
inline constexpr std::int64_t k_reply_window_ms = 24LL * 3600 * 1000;

/// Everything the decision reads.
struct send_facts {
  adapters::window_policy window;  ///< the channel's (`adapters::outbound_channel::window`)
  bool is_template = false;        ///< a message template
  std::string messaging_type;      ///< with `window.message_tags`: RESPONSE, UPDATE, MESSAGE_TAG
  std::string tag;                 ///< with MESSAGE_TAG, e.g. HUMAN_AGENT
  privacy::purpose purpose = privacy::purpose::support;
  std::optional<privacy::consent_state> consent;  ///< nothing = the defaults
  bool tenant_allows_replies = true;              ///< `privacy.allow_replies_after_opt_out`
  std::int64_t last_inbound_ms = 0;  ///< the person's last message (Unix ms); 0 = none known
  timestamp now;
};

/// Why a message is refused: one of the 409 codes (window_closed, consent_required, opted_out,
/// restricted) and a sentence that says what would be allowed instead.
struct send_refusal {
  errc code = errc::window_closed;
  std::string message;
};

/// True when the person wrote within `k_reply_window_ms` before `now`.
bool within_reply_window(std::int64_t last_inbound_ms, timestamp now) noexcept;

/// The decision: nothing when the message may be sent, else the refusal. Consent is judged
/// first (a template does not help a person who opted out), then the platform's window.
///
/// Consent (`privacy::send_decision`): marketing needs granted consent; a subject who opted out
/// or is restricted receives only replies (purpose support, within 24 h of the person's own
/// message) and only when the tenant allows them.
///
/// Window (the platform's, `adapters::window_policy`; none when `window_hours` is 0): a free-form
/// message (text, media, keyboard, quick replies) only within `window.window_hours` of the
/// person's last message; a template at any time where `template_opens_window`; with
/// `message_tags`, messaging_type MESSAGE_TAG with tag HUMAN_AGENT within
/// `window.human_agent_hours` when the channel enables it, tag CUSTOMER_FEEDBACK within 7 days,
/// and Meta's update tags (ACCOUNT_UPDATE, CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE) at any
/// time.
std::optional<send_refusal> decide_send(const send_facts& f);

}  // namespace sb::outbound
