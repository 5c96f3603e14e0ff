#pragma once

// Privacy stores that tests wrap around or put in place of the real one: a forwarding store that
// a test derives from to slow down, break or gate the calls it is about (keyword_durable_test,
// privacy_jobs_test), and a quiet store that answers every call with nothing and keeps the audit
// entries written to it (sweeper_test, outbox_retention_test).

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/privacy_store.hpp"

namespace sb::test {

/// Passes every call to `inner` (the real store).
class forwarding_privacy_store : public store::privacy_store {
 public:
  explicit forwarding_privacy_store(std::shared_ptr<store::privacy_store> inner)
      : inner_(std::move(inner)) {}

  status put_consent(const store::consent_record& r) override { return inner_->put_consent(r); }
  std::vector<store::consent_record> consents(const std::string& tenant) override {
    return inner_->consents(tenant);
  }
  result<std::vector<store::stored_event>> subject_events(const std::string& tenant,
                                                          const std::string& subject,
                                                          std::size_t limit) override {
    return inner_->subject_events(tenant, subject, limit);
  }
  result<store::erase_outcome> erase_subject(const std::string& tenant,
                                             const std::string& subject) override {
    return inner_->erase_subject(tenant, subject);
  }
  result<store::erase_outcome> erase_channel(const std::string& tenant,
                                             const std::string& channel) override {
    return inner_->erase_channel(tenant, channel);
  }
  result<store::sweep_outcome> expire(const std::string& tenant, timestamp cutoff) override {
    return inner_->expire(tenant, cutoff);
  }
  result<std::uint64_t> audit(store::audit_entry e) override { return inner_->audit(std::move(e)); }
  std::vector<store::audit_entry> audit_log(const std::string& tenant, std::uint64_t after_id,
                                            std::size_t limit) override {
    return inner_->audit_log(tenant, after_id, limit);
  }
  status put_deletion_request(const store::deletion_request& r) override {
    return inner_->put_deletion_request(r);
  }
  result<store::deletion_request> find_deletion_request(const std::string& code) override {
    return inner_->find_deletion_request(code);
  }
  result<store::privacy_request_claim> claim_privacy_request(const std::string& tenant,
                                                             const std::string& channel,
                                                             const std::string& kind,
                                                             std::string_view request) override {
    return inner_->claim_privacy_request(tenant, channel, kind, request);
  }
  status finish_privacy_request(const store::privacy_request_claim& claim,
                                const store::privacy_request& r) override {
    return inner_->finish_privacy_request(claim, r);
  }
  void abandon_privacy_request(const store::privacy_request_claim& claim) override {
    inner_->abandon_privacy_request(claim);
  }

 protected:
  std::shared_ptr<store::privacy_store> inner_;
};

/// Holds nothing: reads find nothing, writes and erasures succeed and change nothing, and
/// `expire` sweeps nothing (a test overrides it). Audit entries are kept in `entries`, in order;
/// `audit_log` gives them all, whatever the tenant. The platform-request calls are not used by
/// the tests that use it and fail.
class quiet_privacy_store : public store::privacy_store {
 public:
  std::vector<store::audit_entry> entries;

  status put_consent(const store::consent_record&) override { return {}; }
  std::vector<store::consent_record> consents(const std::string&) override { return {}; }
  result<std::vector<store::stored_event>> subject_events(const std::string&, const std::string&,
                                                          std::size_t) override {
    return std::vector<store::stored_event>{};
  }
  result<store::erase_outcome> erase_subject(const std::string&, const std::string&) override {
    return store::erase_outcome{};
  }
  result<store::erase_outcome> erase_channel(const std::string&, const std::string&) override {
    return store::erase_outcome{};
  }
  result<store::sweep_outcome> expire(const std::string&, timestamp) override {
    return store::sweep_outcome{};
  }
  result<std::uint64_t> audit(store::audit_entry e) override {
    entries.push_back(std::move(e));
    return entries.size();
  }
  std::vector<store::audit_entry> audit_log(const std::string&, std::uint64_t,
                                            std::size_t) override {
    return entries;
  }
  status put_deletion_request(const store::deletion_request&) override { return {}; }
  result<store::deletion_request> find_deletion_request(const std::string&) override {
    return error{errc::not_found, "none"};
  }
  result<store::privacy_request_claim> claim_privacy_request(const std::string&,
                                                             const std::string&,
                                                             const std::string&,
                                                             std::string_view) override {
    return error{errc::internal, "not used by this test"};
  }
  status finish_privacy_request(const store::privacy_request_claim&,
                                const store::privacy_request&) override {
    return {errc::internal, "not used by this test"};
  }
  void abandon_privacy_request(const store::privacy_request_claim&) override {}
};

}  // namespace sb::test
