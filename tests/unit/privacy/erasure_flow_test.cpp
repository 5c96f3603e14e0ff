// The erasure flow (privacy/erasure_flow.hpp) driven by hand: every step's outcome is an input,
// so each path to an answer is reached without actors, stores or a clock.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "privacy/erasure_flow.hpp"

using sb::errc;
using sb::privacy::claim_outcome;
using sb::privacy::erasure_flow;
using sb::privacy::erasure_origin;
using sb::privacy::erasure_request;
using sb::privacy::erasure_step;

namespace {

erasure_request request(erasure_origin origin, std::string subject, std::string channel = {}) {
  erasure_request r;
  r.origin = origin;
  r.subject = std::move(subject);
  r.channel = std::move(channel);
  r.actor = origin == erasure_origin::api ? "backend" : "platform:shop";
  r.action = origin == erasure_origin::api ? "erase" : "redact";
  r.receipt.tenant = "acme";
  r.receipt.type = "privacy.erased";
  r.receipt.privacy.emplace();
  r.receipt.privacy->subject = r.subject;
  if (origin == erasure_origin::deletion_callback) {
    r.code = "del_CODE";
  }
  return r;
}

sb::store::erase_outcome outcome(std::vector<std::string> subjects = {"sub_1"}) {
  sb::store::erase_outcome o;
  o.events = 3;
  o.dedupe_keys = 3;
  o.dead_letters = 1;
  o.key_destroyed = true;
  o.subjects = std::move(subjects);
  return o;
}

/// Erased, forgotten, notified: the flow waits to store its receipt.
void erase_through_notify(erasure_flow& f, sb::store::erase_outcome o = outcome()) {
  REQUIRE(f.next() == erasure_step::erase);
  f.on_erased(std::move(o));
  REQUIRE(f.next() == erasure_step::forget);
  f.on_forgotten();
  REQUIRE(f.next() == erasure_step::notify);
  f.on_notified();
  REQUIRE(f.next() == erasure_step::store_receipt);
}

void check_unavailable(const erasure_flow& f, const std::string& message) {
  REQUIRE(f.next() == erasure_step::done);
  CHECK(f.answer().code == errc::unavailable);
  CHECK(f.answer().message == message);
  CHECK_FALSE(f.answer().replayed);
}

}  // namespace

TEST_CASE("an API erasure erases, forgets, notifies, stores its receipt, audits, then answers",
          "[privacy][erasure_flow]") {
  erasure_flow f(request(erasure_origin::api, "sub_1"));
  CHECK(f.next() == erasure_step::erase);  // nothing to claim
  CHECK_FALSE(f.channel_wide());
  CHECK(f.subject() == "sub_1");
  f.on_erased(outcome());
  REQUIRE(f.next() == erasure_step::forget);
  CHECK(f.erased_subjects() == std::vector<std::string>{"sub_1"});
  f.on_forgotten();
  REQUIRE(f.next() == erasure_step::notify);
  f.on_notified();  // confirmed, timed out or nobody to ask: the same
  REQUIRE(f.next() == erasure_step::store_receipt);

  const auto& receipt = f.receipt();
  REQUIRE(receipt.privacy);
  CHECK(receipt.privacy->receipt.rfind("era_", 0) == 0);
  REQUIRE(receipt.privacy->erased);
  CHECK(receipt.privacy->erased->events == 3);
  CHECK(receipt.privacy->erased->dedupe_keys == 3);
  CHECK(receipt.privacy->erased->dead_letters == 1);
  CHECK(receipt.privacy->erased->subjects == 1);
  CHECK(receipt.subject.empty());  // the receipt outlives the subject's key

  f.on_receipt_stored(std::size_t{1});
  REQUIRE(f.next() == erasure_step::audit);
  const auto& a = f.audit_entry();
  CHECK(a.actor == "backend");
  CHECK(a.action == "erase");
  CHECK(a.subject == "sub_1");
  CHECK(a.outcome == "ok");
  CHECK(a.detail == "receipt=" + receipt.privacy->receipt +
                        " events=3 dedupe_keys=3 dead_letters=1 key_destroyed=true");
  f.on_audited(true);
  REQUIRE(f.next() == erasure_step::done);  // nothing to record for the API
  const auto& ans = f.answer();
  CHECK(ans.code == errc::ok);
  CHECK(ans.receipt == receipt.privacy->receipt);
  CHECK(ans.outcome.events == 3);
  CHECK(ans.outcome.key_destroyed);
  CHECK(ans.stored == 1);
  CHECK(ans.duplicates == 0);
}

TEST_CASE("a subject the store held nothing of is still forgotten and notified",
          "[privacy][erasure_flow]") {
  erasure_flow f(request(erasure_origin::api, "sub_9"));
  f.on_erased(sb::store::erase_outcome{});  // no events, no key
  REQUIRE(f.next() == erasure_step::forget);
  CHECK(f.erased_subjects() == std::vector<std::string>{"sub_9"});
}

TEST_CASE("a channel erasure forgets and notifies every subject the store erased",
          "[privacy][erasure_flow]") {
  erasure_flow f(request(erasure_origin::platform_request, "", "shop"));
  f.on_claimed({claim_outcome::state::claimed, {}});
  CHECK(f.channel_wide());
  erase_through_notify(f, outcome({"sub_1", "sub_2"}));
  CHECK(f.erased_subjects() == std::vector<std::string>{"sub_1", "sub_2"});
  CHECK(f.receipt().privacy->erased->subjects == 2);
  f.on_receipt_stored(std::size_t{1});
  CHECK(f.audit_entry().detail.find(" subjects=2") != std::string::npos);
}

TEST_CASE("a channel whose store held no subject goes straight to its receipt",
          "[privacy][erasure_flow]") {
  erasure_flow f(request(erasure_origin::platform_request, "", "shop"));
  f.on_claimed({claim_outcome::state::claimed, {}});
  f.on_erased(outcome({}));
  CHECK(f.next() == erasure_step::store_receipt);
  CHECK(f.erased_subjects().empty());
}

TEST_CASE("a store error while erasing is audited as an error and answered 503",
          "[privacy][erasure_flow]") {
  erasure_flow f(request(erasure_origin::api, "sub_1"));
  f.on_erased(sb::error{errc::internal, "disk I/O error"});
  REQUIRE(f.next() == erasure_step::audit);
  CHECK(f.audit_entry().outcome == "error");
  CHECK(f.audit_entry().detail == "disk I/O error");
  SECTION("audited") {
    f.on_audited(true);
  }
  SECTION("the audit failed too") {
    f.on_audited(false);
  }
  check_unavailable(f, "the erasure could not be completed; retry");
  CHECK(f.answer().receipt.empty());
}

TEST_CASE("a receipt that cannot be stored (shed, timeout, store error) is audited and is 503",
          "[privacy][erasure_flow]") {
  erasure_flow f(request(erasure_origin::api, "sub_1"));
  erase_through_notify(f);
  f.on_receipt_stored(sb::error{errc::overloaded, "the store is shedding load"});
  REQUIRE(f.next() == erasure_step::audit);
  CHECK(f.audit_entry().outcome == "error");
  CHECK(f.audit_entry().detail.find(" receipt_not_stored: the store is shedding load") !=
        std::string::npos);
  f.on_audited(true);
  check_unavailable(f, "the erasure is done but its receipt could not be stored; retry");
}

TEST_CASE("a receipt the store already had (a retry's) counts as a duplicate",
          "[privacy][erasure_flow]") {
  erasure_flow f(request(erasure_origin::api, "sub_1"));
  erase_through_notify(f);
  f.on_receipt_stored(std::size_t{0});
  f.on_audited(true);
  REQUIRE(f.next() == erasure_step::done);
  CHECK(f.answer().code == errc::ok);
  CHECK(f.answer().stored == 0);
  CHECK(f.answer().duplicates == 1);
}

TEST_CASE("an erasure that cannot be audited is not acknowledged", "[privacy][erasure_flow]") {
  erasure_flow f(request(erasure_origin::api, "sub_1"));
  erase_through_notify(f);
  f.on_receipt_stored(std::size_t{1});
  f.on_audited(false);
  check_unavailable(f, "the erasure is done but could not be audited; retry");
}

TEST_CASE("a platform request is claimed first and a duplicate does nothing again",
          "[privacy][erasure_flow]") {
  erasure_flow f(request(erasure_origin::deletion_callback, "sub_1"));
  REQUIRE(f.next() == erasure_step::claim);
  SECTION("carried out before: answered with the first code, nothing erased") {
    f.on_claimed({claim_outcome::state::done, "del_FIRST"});
    REQUIRE(f.next() == erasure_step::done);
    CHECK(f.answer().code == errc::ok);
    CHECK(f.answer().replayed);
    CHECK(f.answer().replayed_code == "del_FIRST");
    CHECK(f.answer().receipt.empty());
  }
  SECTION("being carried out right now: 503") {
    f.on_claimed({claim_outcome::state::in_progress, {}});
    check_unavailable(f, "the same request is being carried out; retry");
  }
  SECTION("the store cannot tell: 503") {
    f.on_claimed({claim_outcome::state::failed, {}});
    check_unavailable(f, "could not tell whether this request was carried out; retry");
  }
  SECTION("new: erased") {
    f.on_claimed({claim_outcome::state::claimed, {}});
    CHECK(f.next() == erasure_step::erase);
  }
}

TEST_CASE("a deletion callback is recorded under its code once erased and audited",
          "[privacy][erasure_flow]") {
  erasure_flow f(request(erasure_origin::deletion_callback, "sub_1"));
  f.on_claimed({claim_outcome::state::claimed, {}});
  erase_through_notify(f);
  f.on_receipt_stored(std::size_t{1});
  f.on_audited(true);
  REQUIRE(f.next() == erasure_step::record);
  CHECK(f.record_code() == "del_CODE");
  SECTION("recorded: answered") {
    f.on_recorded(true);
    REQUIRE(f.next() == erasure_step::done);
    CHECK(f.answer().code == errc::ok);
    CHECK_FALSE(f.answer().replayed);
  }
  SECTION("not recorded: 503, the platform retries") {
    f.on_recorded(false);
    check_unavailable(f, "the data is deleted but the request could not be recorded; retry");
  }
}

TEST_CASE("a platform privacy webhook is recorded under its receipt id once erased",
          "[privacy][erasure_flow]") {
  erasure_flow f(request(erasure_origin::platform_request, "sub_1"));
  f.on_claimed({claim_outcome::state::claimed, {}});
  erase_through_notify(f);
  f.on_receipt_stored(std::size_t{1});
  f.on_audited(true);
  REQUIRE(f.next() == erasure_step::record);
  CHECK(f.record_code() == f.receipt().privacy->receipt);
  SECTION("recorded") {
    f.on_recorded(true);
    REQUIRE(f.next() == erasure_step::done);
    CHECK(f.answer().stored == 1);
  }
  SECTION("not recorded: 503") {
    f.on_recorded(false);
    check_unavailable(f, "the erasure is done but could not be recorded; retry");
  }
}

TEST_CASE("a platform erasure that names nobody stores its receipt, audits not_found, records",
          "[privacy][erasure_flow]") {
  erasure_flow f(request(erasure_origin::platform_request, ""));
  f.on_claimed({claim_outcome::state::claimed, {}});
  REQUIRE(f.next() == erasure_step::store_receipt);  // nothing to erase, forget or notify
  SECTION("the receipt is not stored: 503 with the store's reason, nothing audited") {
    f.on_receipt_stored(sb::error{errc::unavailable, "the store writer is restarting"});
    check_unavailable(f, "the store writer is restarting");
  }
  SECTION("stored") {
    f.on_receipt_stored(std::size_t{1});
    REQUIRE(f.next() == erasure_step::audit);
    CHECK(f.audit_entry().outcome == "not_found");
    CHECK(f.audit_entry().detail == "no customer id");
    CHECK(f.audit_entry().subject.empty());
    f.on_audited(false);  // acknowledged regardless
    REQUIRE(f.next() == erasure_step::record);
    CHECK(f.record_code().empty());
    SECTION("recorded") {
      f.on_recorded(true);
      REQUIRE(f.next() == erasure_step::done);
      CHECK(f.answer().code == errc::ok);
      CHECK(f.answer().stored == 1);
      CHECK(f.answer().receipt.empty());
    }
    SECTION("not recorded") {
      f.on_recorded(false);
      check_unavailable(f, "the request could not be recorded");
    }
  }
}

TEST_CASE("an erasure input that does not belong to the current step changes nothing",
          "[privacy][erasure_flow]") {
  erasure_flow f(request(erasure_origin::deletion_callback, "sub_1"));
  f.on_erased(outcome());
  f.on_forgotten();
  f.on_notified();
  f.on_receipt_stored(std::size_t{1});
  f.on_audited(true);
  f.on_recorded(true);
  CHECK(f.next() == erasure_step::claim);
  f.on_claimed({claim_outcome::state::claimed, {}});
  f.on_claimed({claim_outcome::state::done, "del_X"});
  CHECK(f.next() == erasure_step::erase);
  f.on_erased(outcome());
  f.on_erased(sb::error{errc::internal, "late"});
  CHECK(f.next() == erasure_step::forget);
  f.on_notified();
  CHECK(f.next() == erasure_step::forget);
  CHECK(std::string(sb::privacy::to_string(erasure_step::store_receipt)) == "store_receipt");
}

TEST_CASE("the audit detail of an erasure names its receipt and counts",
          "[privacy][erasure_flow]") {
  CHECK(sb::privacy::erase_detail("era_1", outcome({"a", "b"}), false) ==
        "receipt=era_1 events=3 dedupe_keys=3 dead_letters=1 key_destroyed=true");
  CHECK(sb::privacy::erase_detail("era_1", outcome({"a", "b"}), true) ==
        "receipt=era_1 events=3 dedupe_keys=3 dead_letters=1 key_destroyed=true subjects=2");
  CHECK(sb::privacy::new_receipt_id().rfind("era_", 0) == 0);
}
