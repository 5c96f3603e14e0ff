#include "outbound/send_flow.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include "adapters/outbound/record.hpp"
#include "adapters/outbound/send_request.hpp"
#include "core/conversation_key.hpp"
#include "core/ids.hpp"
#include "core/time.hpp"
#include "privacy/redact.hpp"

namespace sb::outbound {

namespace {

constexpr std::size_t k_max_idempotency_key = 255;

bool is_json_type(std::string type) {
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  const auto semi = type.find(';');
  auto media = type.substr(0, semi);
  media.erase(media.find_last_not_of(" \t") + 1);
  return media == "application/json";
}

/// Stripe's rule: 1 to 255 characters; visible ASCII keeps keys loggable and comparable.
bool valid_idempotency_key(const std::string& k) {
  return !k.empty() && k.size() <= k_max_idempotency_key &&
         std::all_of(k.begin(), k.end(), [](unsigned char ch) { return ch > 0x20 && ch < 0x7f; });
}

}  // namespace

const char* to_string(send_step s) noexcept {
  switch (s) {
    case send_step::admit:
      return "admit";
    case send_step::check_key:
      return "check_key";
    case send_step::find_sender:
      return "find_sender";
    case send_step::look_up:
      return "look_up";
    case send_step::read_earlier:
      return "read_earlier";
    case send_step::read_window:
      return "read_window";
    case send_step::decide:
      return "decide";
    case send_step::hand_to_sender:
      return "hand_to_sender";
    case send_step::done:
      return "done";
  }
  return "?";
}

bool is_pseudonym(std::string_view to) {
  constexpr std::string_view prefix = "anon_";
  return to.size() == prefix.size() + 16 && to.substr(0, prefix.size()) == prefix &&
         std::all_of(to.begin() + prefix.size(), to.end(),
                     [](unsigned char ch) { return std::isalnum(ch) != 0; });
}

bool same_request(const adapters::outbound_message& m, const store::outbound_record& stored) {
  auto earlier = adapters::outbound_from_json(stored.message);
  if (!earlier) {
    return false;
  }
  adapters::outbound_message candidate = m;
  // One conversation is one person: a request that names a pseudonymous conversation asks for
  // the same recipient as the stored message, whose `to` is the person's real id.
  if (candidate.conversation == earlier->conversation) {
    candidate.to = earlier->to;
  }
  candidate.id = earlier->id;
  candidate.tenant = earlier->tenant;
  candidate.channel_type = earlier->channel_type;
  candidate.idempotency_key = earlier->idempotency_key;
  candidate.created_at = earlier->created_at;
  return adapters::to_json(candidate) == adapters::to_json(*earlier);
}

send_flow::send_flow(send_request request, send_setup setup)
    : request_(std::move(request)), setup_(std::move(setup)) {}

void send_flow::fail(errc code, std::string message, int retry_after_s) {
  answer_ = send_answer{};
  answer_.code = code;
  answer_.message = std::move(message);
  answer_.retry_after_s = retry_after_s;
  step_ = send_step::done;
}

void send_flow::accept(store::outbound_record r, bool replayed) {
  answer_ = send_answer{};
  answer_.record = std::move(r);
  answer_.replayed = replayed;
  step_ = send_step::done;
}

/// The answer to a request whose Idempotency-Key already created `earlier`: the same 202, unless
/// the key is reused for another message. Either way the key stands for `earlier`.
void send_flow::replay(const store::outbound_record& earlier) {
  key_id_ = earlier.id;
  if (!same_request(msg_, earlier)) {
    fail(errc::idempotency_conflict, "this Idempotency-Key was used for another message (" +
                                         earlier.id + "); use a new key for a new message");
    return;
  }
  accept(earlier, true);
}

void send_flow::on_admission(int wait_s) {
  if (step_ != send_step::admit) {
    return;
  }
  if (wait_s > 0) {
    fail(errc::rate_limited,
         "this token's send rate limit (send_rate_limit) is exceeded; retry later", wait_s);
    return;
  }
  validate();
}

void send_flow::validate() {
  if (!request_.content_type.empty() && !is_json_type(request_.content_type)) {
    fail(errc::unsupported_media, "send the body as Content-Type application/json");
    return;
  }
  auto parsed = adapters::parse_send_request(request_.body);
  request_.body = std::string();  // parsed into owned strings: not kept while the send runs
  if (!parsed) {
    fail(parsed.err().code, parsed.err().message);
    return;
  }
  msg_ = std::move(parsed->message);
  channel_ = setup_.tenant->find_channel(msg_.channel);
  if (channel_ == nullptr) {
    fail(errc::unknown_channel,
         "field 'channel' (or the channel of 'conversation') names no channel of this tenant: '" +
             msg_.channel + "'");
    return;
  }
  out_ = setup_.channel_of ? setup_.channel_of(channel_->name) : nullptr;
  adapters::apply_defaults(*channel_, out_.get(), msg_);
  const bool sendable = out_ != nullptr;
  // A pseudonymizing tenant's events name conversations "<channel>:anon_…" (privacy/redact.hpp):
  // its backend replies by that pseudonym, resolved to the person through the outbox, and a
  // message to a real id belongs to the same pseudonymous conversation (window, receipts,
  // events).
  pseudonymous_ = sendable && setup_.tenant->privacy.pseudonymize;
  resolve_ = pseudonymous_ && is_pseudonym(msg_.to);
  account_ = sendable ? out_->account() : std::string();
  if (pseudonymous_ && !resolve_) {
    msg_.conversation = conversation_key::format(
        channel_->name,
        privacy::pseudonymous_peer(setup_.subject_key, channel_->type, account_, msg_.to));
  }
  // The recipient's form is checked once the pseudonym is resolved.
  if (!resolve_) {
    if (auto valid = adapters::validate(*channel_, out_.get(), msg_); !valid) {
      fail(valid.err().code, valid.err().message);
      return;
    }
  }
  if (!sendable) {
    fail(errc::bad_request,
         "channel '" + channel_->name + "' (type " + channel_->type + ") cannot send messages");
    return;
  }
  const auto& key = request_.idempotency_key;
  if (!key.empty() && !valid_idempotency_key(key)) {
    fail(errc::bad_request, "header 'Idempotency-Key' must be 1 to 255 visible ASCII characters");
    return;
  }
  if (!setup_.has_outbox) {
    fail(errc::unavailable, "this gateway keeps no outbox, so it cannot accept messages to send");
    return;
  }
  step_ = key.empty() ? send_step::find_sender : send_step::check_key;
}

void send_flow::on_key(const key_memory& memory) {
  if (step_ != send_step::check_key) {
    return;
  }
  switch (memory.st) {
    case key_memory::state::unknown:
      step_ = send_step::find_sender;
      return;
    case key_memory::state::in_flight:
      fail(errc::idempotency_conflict,
           "a request with this Idempotency-Key is still in progress; retry once it is answered");
      return;
    case key_memory::state::created:
      earlier_id_ = memory.id;
      step_ = send_step::read_earlier;
      return;
  }
}

void send_flow::on_sender(bool up) {
  if (step_ != send_step::find_sender) {
    return;
  }
  if (!up) {
    fail(errc::unavailable, "the channel's sender is restarting; retry", 1);
    return;
  }
  msg_.id = ids::make("out_");
  msg_.tenant = setup_.tenant->id;
  msg_.idempotency_key = request_.idempotency_key;
  msg_.created_at = sb::now();
  holds_key_ = !request_.idempotency_key.empty();
  if (holds_key_ || resolve_) {
    step_ = send_step::look_up;
  } else {
    judge();
  }
}

void send_flow::on_looked_up(lookup_result r) {
  if (step_ != send_step::look_up) {
    return;
  }
  if (!r.st) {
    fail(errc::unavailable, "could not read the outbox; retry", 1);
    return;
  }
  if (r.earlier) {
    replay(*r.earlier);
    return;
  }
  if (resolve_) {
    if (r.peer.empty()) {
      fail(errc::unknown_conversation,
           "field 'conversation' (or 'to') names no person this gateway knows: '" +
               msg_.conversation +
               "' (a pseudonymous conversation is known from the person's messages until they "
               "are erased or expire)");
      return;
    }
    msg_.to = std::move(r.peer);
    if (auto valid = adapters::validate(*channel_, out_.get(), msg_); !valid) {
      fail(valid.err().code, valid.err().message);
      return;
    }
  }
  judge();
}

void send_flow::on_earlier(const result<store::outbound_record>& r) {
  if (step_ != send_step::read_earlier) {
    return;
  }
  if (r) {
    replay(r.value());
  } else if (r.err().code == errc::not_found) {
    fail(errc::idempotency_conflict, "the message this Idempotency-Key created (" + earlier_id_ +
                                         ") is gone (erased or expired); use a new key");
  } else {
    fail(errc::unavailable, "could not read the outbox; retry", 1);
  }
}

/// The person's subject, then the conversation's window, then the decision.
void send_flow::judge() {
  subject_ = ids::subject_id(setup_.subject_key, channel_->type, account_, msg_.to);
  step_ = send_step::read_window;
}

void send_flow::on_window(std::int64_t last_inbound_ms) {
  if (step_ != send_step::read_window) {
    return;
  }
  last_inbound_ms_ = last_inbound_ms;
  step_ = send_step::decide;
}

void send_flow::on_decided(const std::optional<error>& refusal) {
  if (step_ != send_step::decide) {
    return;
  }
  if (refusal) {
    fail(refusal->code, refusal->message);
    return;
  }
  step_ = send_step::hand_to_sender;
}

store::outbound_record send_flow::record() const {
  const auto& m = msg_;
  store::outbound_record r;
  r.id = m.id;
  r.tenant = m.tenant;
  r.channel = m.channel;
  r.conversation = m.conversation;
  // No plain column holds the id of a pseudonymizing tenant's person (store/outbox.hpp).
  r.recipient = pseudonymous_ ? conversation_key::parse(m.conversation).value().peer() : m.to;
  r.subject = subject_;
  r.purpose = m.purpose;
  r.message = adapters::to_json(m);
  r.state = store::outbound_state::queued;
  r.created_at = m.created_at;
  r.updated_at = m.created_at;
  r.caller = request_.caller;
  r.idempotency_key = m.idempotency_key;
  return r;
}

void send_flow::on_sender_reply(const sender_reply& r) {
  if (step_ != send_step::hand_to_sender) {
    return;
  }
  if (!r.st) {
    const auto code = r.st.err().code;
    const bool retry = code == errc::overloaded || code == errc::unavailable;
    fail(code, r.st.err().message, retry ? 1 : 0);
  } else if (!r.created) {
    // The outbox knew the key (a put that raced the lookup): the earlier message stands.
    replay(r.record);
  } else {
    key_id_ = r.record.id;
    accept(r.record, false);
  }
}

void send_flow::on_no_answer() {
  switch (step_) {
    case send_step::look_up:
      fail(errc::unavailable, "could not read the outbox; retry", 1);
      return;
    case send_step::read_earlier:
      fail(errc::unavailable, "the outbox is restarting; retry", 1);
      return;
    case send_step::read_window:
      fail(errc::unavailable, "the conversation's window could not be read; retry", 1);
      return;
    case send_step::hand_to_sender:
      fail(errc::unavailable,
           "the channel's sender did not confirm the message; retry (with the same "
           "Idempotency-Key a retry cannot send twice)",
           1);
      return;
    default:
      return;  // a step that is answered at once cannot go unanswered
  }
}

}  // namespace sb::outbound
