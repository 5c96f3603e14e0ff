#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "adapters/outbound.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "store/outbox.hpp"

/// One `POST /v1/messages` as a plain state machine (docs/architecture.md "Workflows as state
/// machines", docs/outbound.md): validate -> rate limit and Idempotency-Key -> [outbox lookup] ->
/// conversation window -> consent and window policy -> the channel's sender -> the answer.
///
/// The flow does no I/O and knows no actor: it says which step comes next (`next()`), the driver
/// (actors/outbound_api.cpp, in the tenant actor) performs it and feeds the outcome back through
/// the matching `on_...` call, until `next()` is `send_step::done` and `answer()` holds the
/// response. An input that does not belong to the current step is ignored. `on_no_answer` is the
/// outcome of any asynchronous step whose request failed (timeout, the actor is gone).
///
/// Threading: one thread at a time. The driver may move the flow to another thread for a step
/// (the outbox writer runs `read_earlier`); it then no longer touches it.
namespace sb::outbound {

/// What the flow asks its driver to do next.
enum class send_step {
  admit,           ///< the caller's `send_rate_limit`: `on_admission(wait_s)`
  check_key,       ///< the memory of (caller(), key()): `on_key(memory)`
  find_sender,     ///< are the channel's sender and the outbox writer up: `on_sender(up)`
  look_up,         ///< the outbox: the key's earlier message, `resolving()`'s peer: `on_looked_up`
  read_earlier,    ///< the outbox's record of `earlier_id()`: `on_earlier(record)`
  read_window,     ///< the last inbound time of the message's conversation: `on_window(ms)`
  decide,          ///< consent and window policy on `message()`, `subject()`: `on_decided`
  hand_to_sender,  ///< `record()` to the channel's sender: `on_sender_reply(...)`
  done,            ///< answer with `answer()`
};

const char* to_string(send_step s) noexcept;

/// The request as the HTTP layer delivered it.
struct send_request {
  std::string caller;           ///< the subscriber whose token sent it
  std::string content_type;     ///< the Content-Type header; "" = absent
  std::string idempotency_key;  ///< the Idempotency-Key header; "" = absent
  std::string body;             ///< dropped once parsed
};

/// What the flow reads of its tenant while it validates (during `on_admission`).
struct send_setup {
  const config::tenant_config* tenant = nullptr;  ///< borrowed; outlives the flow
  std::string subject_key;                        ///< the tenant's subject key
  bool has_outbox = false;                        ///< the gateway keeps an outbox
  /// The sending side of the tenant's channel `name`; null when it cannot send.
  std::function<std::shared_ptr<const adapters::outbound_channel>(const std::string& name)>
      channel_of;
};

/// What the tenant's memory of Idempotency-Keys knows of (caller, key).
struct key_memory {
  enum class state { unknown, in_flight, created };
  state st = state::unknown;
  std::string id;  ///< with `created`: the message it created
};

/// The outbox's answer to `look_up`.
struct lookup_result {
  status st;                                      ///< the read failed: 503
  std::optional<store::outbound_record> earlier;  ///< the message the key created
  std::string peer;                               ///< the real peer of `resolving()`; "" = none
};

/// The sender's answer to `hand_to_sender` (actors/messages.hpp `send_accepted`).
struct sender_reply {
  status st;  ///< errc::overloaded / unavailable: 503 with Retry-After; others as they are
  store::outbound_record record;  ///< the stored record, or the earlier one (`created` false)
  bool created = true;
};

/// The answer: 202 with `record` (`replayed`: an earlier request's message), or the error.
struct send_answer {
  errc code = errc::ok;
  std::string message;            ///< with an error
  int retry_after_s = 0;          ///< with an error: > 0 adds Retry-After
  store::outbound_record record;  ///< with ok
  bool replayed = false;          ///< with ok: Idempotent-Replayed
};

class send_flow {
 public:
  send_flow(send_request request, send_setup setup);

  send_step next() const noexcept { return step_; }

  /// `admit`: 0 when the caller may send now, else the seconds to wait (429). Admitted, the
  /// request is validated (Content-Type, body, channel, recipient, Idempotency-Key, outbox).
  void on_admission(int wait_s);
  /// `check_key`: in flight -> 409; created -> `read_earlier`; unknown -> `find_sender`.
  void on_key(const key_memory& memory);
  /// `find_sender`: down -> 503. Up: the message gets its id, the key is held (`holds_key`),
  /// then `look_up` (a key, or a pseudonym to resolve) or `read_window`.
  void on_sender(bool up);
  /// `look_up`: a read error -> 503; the key's earlier message -> its replay; an unknown
  /// pseudonym -> 404 unknown_conversation; else `read_window`.
  void on_looked_up(lookup_result r);
  /// `read_earlier`: the record -> its replay; not_found -> 409 (gone); other errors -> 503.
  void on_earlier(const result<store::outbound_record>& r);
  /// `read_window`: the person's last message (Unix ms, 0 = none) -> `decide`.
  void on_window(std::int64_t last_inbound_ms);
  /// `decide`: a refusal (409 window_closed, consent_required, opted_out, restricted) -> done;
  /// none -> `hand_to_sender`.
  void on_decided(const std::optional<error>& refusal);
  /// `hand_to_sender`: stored -> 202; the outbox knew the key -> the earlier message's replay;
  /// refused -> the sender's error.
  void on_sender_reply(const sender_reply& r);
  /// The asynchronous step in progress got no answer: 503 with Retry-After, naming the step.
  void on_no_answer();

  const std::string& caller() const { return request_.caller; }
  const std::string& key() const { return request_.idempotency_key; }
  /// The message as validated so far (its conversation, recipient, purpose ...).
  const adapters::outbound_message& message() const { return msg_; }
  /// The channel's name (once validated).
  const std::string& channel() const { return msg_.channel; }
  /// The channel's sending side (once validated): its window policy for `decide`.
  const adapters::outbound_channel* sending_side() const { return out_.get(); }
  /// The pseudonymous conversation `look_up` resolves to a peer; "" = none.
  std::string resolving() const { return resolve_ ? msg_.conversation : std::string(); }
  /// The id `read_earlier` reads.
  const std::string& earlier_id() const { return earlier_id_; }
  /// The recipient's subject (from `read_window` on).
  const std::string& subject() const { return subject_; }
  std::int64_t last_inbound_ms() const { return last_inbound_ms_; }
  /// The record to hand to the sender (`hand_to_sender`).
  store::outbound_record record() const;

  /// The request holds its Idempotency-Key in the tenant's memory (from `on_sender(true)` on):
  /// the driver remembers it as in flight then, and once done as `key_id()`.
  bool holds_key() const { return holds_key_; }
  /// The message the key created ("" when none: the key is forgotten).
  const std::string& key_id() const { return key_id_; }

  /// With `done`.
  const send_answer& answer() const { return answer_; }

 private:
  void validate();
  void judge();
  void replay(const store::outbound_record& earlier);
  void fail(errc code, std::string message, int retry_after_s = 0);
  void accept(store::outbound_record r, bool replayed);

  send_request request_;
  send_setup setup_;
  send_step step_ = send_step::admit;
  const config::channel_config* channel_ = nullptr;
  std::shared_ptr<const adapters::outbound_channel> out_;
  adapters::outbound_message msg_;
  std::string account_;
  bool pseudonymous_ = false;
  bool resolve_ = false;
  std::string earlier_id_;
  std::string subject_;
  std::int64_t last_inbound_ms_ = 0;
  bool holds_key_ = false;
  std::string key_id_;
  send_answer answer_;
};

/// Whether the request `m` asks for the same message as `stored` (the fields the caller gave;
/// the gateway's own are copied over; a pseudonymous conversation stands for its person).
bool same_request(const adapters::outbound_message& m, const store::outbound_record& stored);

/// Whether `to` has the form of `privacy::pseudonymous_peer`: "anon_" + 16 letters and digits.
bool is_pseudonym(std::string_view to);

}  // namespace sb::outbound
