#include "privacy/erasure_flow.hpp"

#include <utility>

#include "core/ids.hpp"

namespace sb::privacy {

const char* to_string(erasure_step s) noexcept {
  switch (s) {
    case erasure_step::claim:
      return "claim";
    case erasure_step::erase:
      return "erase";
    case erasure_step::forget:
      return "forget";
    case erasure_step::notify:
      return "notify";
    case erasure_step::store_receipt:
      return "store_receipt";
    case erasure_step::audit:
      return "audit";
    case erasure_step::record:
      return "record";
    case erasure_step::done:
      return "done";
  }
  return "?";
}

std::string new_receipt_id() {
  return ids::make("era_");
}

std::string erase_detail(const std::string& receipt, const store::erase_outcome& o,
                         bool channel_wide) {
  std::string d = "receipt=" + receipt + " events=" + std::to_string(o.events) +
                  " dedupe_keys=" + std::to_string(o.dedupe_keys) +
                  " dead_letters=" + std::to_string(o.dead_letters) +
                  " key_destroyed=" + (o.key_destroyed ? "true" : "false");
  if (channel_wide) {
    d += " subjects=" + std::to_string(o.subjects.size());
  }
  return d;
}

erasure_flow::erasure_flow(erasure_request request)
    : request_(std::move(request)),
      step_(claimed_first() ? erasure_step::claim : erasure_step::erase) {}

const std::string& erasure_flow::record_code() const {
  return request_.origin == erasure_origin::deletion_callback ? request_.code : answer_.receipt;
}

void erasure_flow::fail(std::string message) {
  answer_.code = errc::unavailable;
  answer_.message = std::move(message);
  step_ = erasure_step::done;
}

void erasure_flow::audit(std::string outcome, std::string detail, erasure_step then) {
  audit_ = audit_request{request_.actor, request_.action, request_.subject, std::move(outcome),
                         std::move(detail)};
  after_audit_ = then;
  step_ = erasure_step::audit;
}

void erasure_flow::on_claimed(const claim_outcome& c) {
  if (step_ != erasure_step::claim) {
    return;
  }
  switch (c.st) {
    case claim_outcome::state::failed:
      fail("could not tell whether this request was carried out; retry");
      return;
    case claim_outcome::state::in_progress:
      fail("the same request is being carried out; retry");
      return;
    case claim_outcome::state::done:
      answer_.replayed = true;
      answer_.replayed_code = c.done_code;
      step_ = erasure_step::done;
      return;
    case claim_outcome::state::claimed:
      // An erasure naming the person by something else than an id (an e-mail): no subject of
      // ours can match (the gateway never keys anyone by e-mail). Recorded, acknowledged,
      // nothing to erase.
      step_ = names_nobody() ? erasure_step::store_receipt : erasure_step::erase;
      return;
  }
}

void erasure_flow::on_erased(result<store::erase_outcome> r) {
  if (step_ != erasure_step::erase) {
    return;
  }
  if (!r) {
    fail_after_audit_ = "the erasure could not be completed; retry";
    audit("error", r.err().message, erasure_step::done);
    return;
  }
  answer_.outcome = std::move(r).value();
  answer_.receipt = new_receipt_id();
  // Always told, also when the store held no event of the subject: other parts of the tenant
  // (the outbox) may hold some of its data.
  if (channel_wide()) {
    subjects_ = answer_.outcome.subjects;
  } else {
    subjects_ = {request_.subject};
  }
  auto& receipt = request_.receipt;
  if (!receipt.privacy) {
    receipt.privacy.emplace();
  }
  receipt.privacy->receipt = answer_.receipt;
  const auto& o = answer_.outcome;
  receipt.privacy->erased = privacy_info::erased_counts{
      o.events, o.dedupe_keys, o.dead_letters, static_cast<std::uint64_t>(o.subjects.size())};
  step_ = subjects_.empty() ? erasure_step::store_receipt : erasure_step::forget;
}

void erasure_flow::on_forgotten() {
  if (step_ == erasure_step::forget) {
    step_ = erasure_step::notify;
  }
}

void erasure_flow::on_notified() {
  if (step_ == erasure_step::notify) {
    step_ = erasure_step::store_receipt;
  }
}

void erasure_flow::on_receipt_stored(const result<std::size_t>& r) {
  if (step_ != erasure_step::store_receipt) {
    return;
  }
  if (names_nobody()) {
    if (!r) {
      fail(r.err().message);
      return;
    }
    answer_.stored = r.value();
    answer_.duplicates = r.value() == 0 ? 1 : 0;
    // Written for the record; the request is acknowledged either way.
    audit("not_found", "no customer id", erasure_step::record);
    return;
  }
  const auto detail = erase_detail(answer_.receipt, answer_.outcome, channel_wide());
  if (!r) {
    fail_after_audit_ = "the erasure is done but its receipt could not be stored; retry";
    audit("error", detail + " receipt_not_stored: " + r.err().message, erasure_step::done);
    return;
  }
  answer_.stored = r.value();
  answer_.duplicates = r.value() == 0 ? 1 : 0;
  audit("ok", detail, claimed_first() ? erasure_step::record : erasure_step::done);
}

void erasure_flow::on_audited(bool ok) {
  if (step_ != erasure_step::audit) {
    return;
  }
  if (!fail_after_audit_.empty()) {
    fail(std::move(fail_after_audit_));
    return;
  }
  // The audit of a done erasure is part of it: an erasure nobody could account for is not
  // acknowledged (the request that named nobody is acknowledged regardless).
  if (!ok && !names_nobody()) {
    fail("the erasure is done but could not be audited; retry");
    return;
  }
  step_ = after_audit_;
}

void erasure_flow::on_recorded(bool ok) {
  if (step_ != erasure_step::record) {
    return;
  }
  if (ok) {
    step_ = erasure_step::done;
    return;
  }
  if (request_.origin == erasure_origin::deletion_callback) {
    fail("the data is deleted but the request could not be recorded; retry");
  } else if (names_nobody()) {
    fail("the request could not be recorded");
  } else {
    fail("the erasure is done but could not be recorded; retry");
  }
}

}  // namespace sb::privacy
