#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/event.hpp"
#include "store/privacy_store.hpp"

/// One erasure as a plain state machine (docs/architecture.md "Workflows as state machines",
/// docs/privacy.md): [claim the platform's request] -> erase in the store (events, dead letters,
/// the data key; dedupe keys kept as tombstones) -> forget the subjects in the consent registry
/// -> have the push subscribers drop them -> store the receipt (privacy.*) -> audit -> [record
/// the platform's request] -> the answer.
///
/// The flow does no I/O and knows no actor: it says which step comes next (`next()`), the driver
/// (actors/privacy_api.cpp, in a privacy worker) performs it and feeds the outcome back through
/// the matching `on_...` call until `next()` is `erasure_step::done` and `answer()` holds the
/// response. An input that does not belong to the current step is ignored. Every error answer
/// is 503 `unavailable` with Retry-After: an erasure is idempotent, and a platform request that
/// was not recorded is carried out again on the platform's retry.
///
/// Threading: one thread at a time.
namespace sb::privacy {

/// Who asked, which decides the steps around the erasure and the answer's form.
enum class erasure_origin {
  api,                ///< DELETE /v1/subjects/{subject}: the receipt and the counts
  deletion_callback,  ///< a platform's data-deletion callback: claimed, recorded, its code
  platform_request,   ///< a platform's privacy webhook: claimed, recorded, accepted
};

/// What the flow asks its driver to do next.
enum class erasure_step {
  claim,          ///< claim the platform's request (carried out once): `on_claimed`
  erase,          ///< erase `subject()` or the channel `channel()` in the store: `on_erased`
  forget,         ///< mark `erased_subjects()` erased in the consent registry: `on_forgotten`
  notify,         ///< the tenant's push subscribers drop `erased_subjects()`: `on_notified`
  store_receipt,  ///< store `receipt()` (privacy.* event): `on_receipt_stored`
  audit,          ///< write `audit_entry()`: `on_audited`
  record,         ///< record the platform's request as carried out (`record_code()`): `on_recorded`
  done,           ///< answer with `answer()`
};

const char* to_string(erasure_step s) noexcept;

/// One erasure: of a subject, or of everything a channel holds.
struct erasure_request {
  erasure_origin origin = erasure_origin::api;
  std::string subject;  ///< erase this subject, or
  std::string channel;  ///< every event and subject of this channel ("" = a subject's erasure)
  std::string actor;    ///< audit: who asked ("platform:<channel>" or the caller)
  std::string action;   ///< audit: erase, redact, shop_redact, deletion_callback
  event receipt;        ///< the receipt to store; its privacy block gets the receipt id and counts
  std::string code;     ///< deletion_callback: the confirmation code the answer names
};

/// What the store said about the claim of a platform request.
struct claim_outcome {
  enum class state {
    failed,       ///< the store could not tell
    claimed,      ///< new: carry it out
    in_progress,  ///< the same request is being carried out right now
    done,         ///< carried out before
  };
  state st = state::failed;
  std::string done_code;  ///< with `done`: the code its answer named
};

/// An audit entry to write.
struct audit_request {
  std::string actor, action, subject, outcome, detail;
};

/// The answer: ok (or `replayed`), or 503 with `message`.
struct erasure_answer {
  errc code = errc::ok;
  std::string message;           ///< with an error
  bool replayed = false;         ///< a platform request carried out before: nothing was done again
  std::string replayed_code;     ///< with `replayed`: the code the first answer named
  std::string receipt;           ///< "era_..." ("" when nothing was erased)
  store::erase_outcome outcome;  ///< what the store erased
  std::size_t stored = 0;        ///< receipts stored (0: the receipt was a retry's)
  std::size_t duplicates = 0;    ///< receipts recognised as a retry's
};

class erasure_flow {
 public:
  explicit erasure_flow(erasure_request request);

  erasure_step next() const noexcept { return step_; }

  /// `claim`: failed -> 503; in progress -> 503; done -> replayed; claimed -> the erasure (or,
  /// for a request that names nobody the gateway can know, straight to `store_receipt`).
  void on_claimed(const claim_outcome& c);
  /// `erase`: an error -> audited as such, then 503; the outcome -> `forget` (or `store_receipt`
  /// when no subject was erased).
  void on_erased(result<store::erase_outcome> r);
  /// `forget`: done -> `notify`.
  void on_forgotten();
  /// `notify`: answered, timed out or no tenant to ask (the driver logs that) -> `store_receipt`.
  void on_notified();
  /// `store_receipt`: how many receipts were stored (0: a retry's duplicate), or the error ->
  /// audited as such, then 503.
  void on_receipt_stored(const result<std::size_t>& r);
  /// `audit`: false -> 503 after an erasure (nothing leaves unaccounted for).
  void on_audited(bool ok);
  /// `record`: false -> 503 (the platform retries; the erasure is idempotent).
  void on_recorded(bool ok);

  const erasure_request& request() const { return request_; }
  const std::string& subject() const { return request_.subject; }
  const std::string& channel() const { return request_.channel; }
  bool channel_wide() const { return !request_.channel.empty(); }
  /// The subjects the erasure concerns (from `forget` on): the channel's, or the one subject
  /// (also when the store held nothing of it: other parts of the tenant may).
  const std::vector<std::string>& erased_subjects() const { return subjects_; }
  /// The receipt event to store (`store_receipt`).
  const event& receipt() const { return request_.receipt; }
  /// The audit entry to write (`audit`).
  const audit_request& audit_entry() const { return audit_; }
  /// What `record` records: the deletion code, or the erasure's receipt id.
  const std::string& record_code() const;

  /// With `done`.
  const erasure_answer& answer() const { return answer_; }

 private:
  bool claimed_first() const { return request_.origin != erasure_origin::api; }
  bool names_nobody() const { return request_.subject.empty() && request_.channel.empty(); }
  void audit(std::string outcome, std::string detail, erasure_step then);
  void fail(std::string message);

  erasure_request request_;
  erasure_step step_;
  std::vector<std::string> subjects_;
  audit_request audit_;
  erasure_step after_audit_ = erasure_step::done;
  std::string fail_after_audit_;  ///< the 503 an audit of a failure leads to
  erasure_answer answer_;
};

/// A new erasure receipt id: "era_" + ULID.
std::string new_receipt_id();

/// The audit detail of an erasure: "receipt=era_.. events=n dedupe_keys=n dead_letters=n
/// key_destroyed=true|false[ subjects=n]".
std::string erase_detail(const std::string& receipt, const store::erase_outcome& o,
                         bool channel_wide);

}  // namespace sb::privacy
