// The consent policy (src/privacy/consent.hpp): purposes and defaults, forwarding, outbound
// decisions, keywords, and the registry without a store.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "privacy/consent.hpp"

using namespace sb;
using privacy::purpose;

namespace {

const std::vector<std::string> support{"support"};
const std::vector<std::string> marketing{"marketing"};
const std::vector<std::string> ai_and_marketing{"ai", "marketing"};

privacy::consent_state with(purpose p, bool granted) {
  privacy::consent_state s;
  s.granted[static_cast<unsigned>(p)] = granted;
  return s;
}

store::stored_event stored(std::uint64_t seq, std::string type, std::string subject) {
  store::stored_event e;
  e.seq = seq;
  e.type = std::move(type);
  e.subject = std::move(subject);
  return e;
}

}  // namespace

TEST_CASE("purposes have the defaults of DESIGN §7", "[privacy][consent]") {
  CHECK(privacy::default_granted(purpose::support));
  CHECK(privacy::default_granted(purpose::ai));
  CHECK(privacy::default_granted(purpose::analytics));
  CHECK_FALSE(privacy::default_granted(purpose::marketing));
  CHECK(privacy::parse_purpose("marketing") == purpose::marketing);
  CHECK_FALSE(privacy::parse_purpose("Marketing"));
  CHECK_FALSE(privacy::parse_purpose("sales"));
  CHECK(privacy::purposes_of({"support", "ai"}) ==
        (privacy::bit(purpose::support) | privacy::bit(purpose::ai)));
}

TEST_CASE("an event reaches a subscriber when the person allows one of its purposes",
          "[privacy][consent]") {
  // No state: the defaults. Marketing-only subscribers get nothing until consent is granted.
  CHECK(privacy::forwards(nullptr, "message", support));
  CHECK_FALSE(privacy::forwards(nullptr, "message", marketing));
  CHECK(privacy::forwards(nullptr, "message", ai_and_marketing));
  auto granted = with(purpose::marketing, true);
  CHECK(privacy::forwards(&granted, "message", marketing));
  // An objection to ai leaves a subscriber serving ai and marketing with nothing.
  auto objected = with(purpose::ai, false);
  CHECK_FALSE(privacy::forwards(&objected, "message", ai_and_marketing));
  CHECK(privacy::forwards(&objected, "message", support));
  // A subscriber without purposes gets only what everyone gets.
  CHECK_FALSE(privacy::forwards(nullptr, "message", std::vector<std::string>{}));
  CHECK(privacy::forwards(nullptr, "consent.changed", std::vector<std::string>{}));
}

TEST_CASE("consent.changed and privacy events reach everyone, also for restricted subjects",
          "[privacy][consent]") {
  privacy::consent_state r;
  r.restricted = true;
  r.granted[static_cast<unsigned>(purpose::marketing)] = true;
  for (const char* t :
       {"consent.changed", "privacy.erased", "privacy.data_request", "privacy.redact"}) {
    CHECK(privacy::forwards(&r, t, marketing));
    CHECK(privacy::forwards(&r, t, support));
  }
  // Every other event of a restricted subject reaches nobody.
  for (const char* t : {"message", "status", "reaction", "order", "outbound.status"}) {
    CHECK_FALSE(privacy::forwards(&r, t, support));
    CHECK_FALSE(privacy::forwards(&r, t, marketing));
  }
  CHECK_FALSE(privacy::always_forwarded("privacy"));
  CHECK_FALSE(privacy::always_forwarded("consent"));
}

TEST_CASE(
    "outbound: marketing needs consent, opted-out and restricted people get only replies "
    "the tenant allows",
    "[privacy][consent]") {
  using v = privacy::send_verdict;
  CHECK(privacy::send_decision(nullptr, purpose::support, false, true) == v::allowed);
  CHECK(privacy::send_decision(nullptr, purpose::marketing, false, true) == v::purpose_refused);
  auto granted = with(purpose::marketing, true);
  CHECK(privacy::may_send(&granted, purpose::marketing, false, false));

  privacy::consent_state out;
  out.opted_out = true;
  out.granted[static_cast<unsigned>(purpose::marketing)] = false;
  CHECK(privacy::send_decision(&out, purpose::support, false, true) == v::opted_out);
  CHECK(privacy::send_decision(&out, purpose::support, true, true) == v::allowed);
  CHECK(privacy::send_decision(&out, purpose::support, true, false) == v::opted_out);
  CHECK(privacy::send_decision(&out, purpose::marketing, true, true) == v::purpose_refused);

  privacy::consent_state r;
  r.restricted = true;
  CHECK(privacy::send_decision(&r, purpose::support, false, true) == v::restricted);
  CHECK(privacy::send_decision(&r, purpose::support, true, true) == v::allowed);
  CHECK(privacy::send_decision(&r, purpose::support, true, false) == v::restricted);
}

TEST_CASE("keywords match the whole message, trimmed, in any case", "[privacy][consent]") {
  config::privacy_config p;  // STOP, UNSUBSCRIBE / START
  using k = privacy::keyword;
  CHECK(privacy::match_keyword(p, "STOP") == k::opt_out);
  CHECK(privacy::match_keyword(p, "  stop \n") == k::opt_out);
  CHECK(privacy::match_keyword(p, "Unsubscribe") == k::opt_out);
  CHECK(privacy::match_keyword(p, "start") == k::opt_in);
  CHECK(privacy::match_keyword(p, "please stop") == k::none);
  CHECK(privacy::match_keyword(p, "STOP!") == k::none);
  CHECK(privacy::match_keyword(p, "stopp") == k::none);
  CHECK(privacy::match_keyword(p, "") == k::none);
  CHECK(privacy::match_keyword(p, "   ") == k::none);
  p.opt_out_keywords = {"ARRET", "Stopp"};
  p.opt_in_keywords = {"weiter"};
  CHECK(privacy::match_keyword(p, "STOP") == k::none);
  CHECK(privacy::match_keyword(p, "stopp") == k::opt_out);
  CHECK(privacy::match_keyword(p, "WEITER") == k::opt_in);
}

TEST_CASE("subject ids are sub_ and 16 Crockford characters", "[privacy][consent]") {
  CHECK(privacy::valid_subject_id("sub_5KQ2C7WZ3N4B6Y8T"));
  CHECK_FALSE(privacy::valid_subject_id("sub_5KQ2C7WZ3N4B6Y8"));
  CHECK_FALSE(privacy::valid_subject_id("sub_5KQ2C7WZ3N4B6Y8TX"));
  CHECK_FALSE(privacy::valid_subject_id("sub_5kq2c7wz3n4b6y8t"));
  CHECK_FALSE(privacy::valid_subject_id("sub_5KQ2C7WZ3N4B6Y8I"));  // I is not Crockford
  CHECK_FALSE(privacy::valid_subject_id("usr_5KQ2C7WZ3N4B6Y8T"));
  CHECK_FALSE(privacy::valid_subject_id(""));
}

TEST_CASE("a state round-trips through the store record, the opt-out included",
          "[privacy][consent]") {
  privacy::consent_state s;
  s.granted[static_cast<unsigned>(purpose::marketing)] = false;
  s.granted[static_cast<unsigned>(purpose::ai)] = false;
  s.opted_out = true;
  s.restricted = true;
  s.updated_at = timestamp::from_millis(1749416383123);
  auto r = privacy::to_record("acme", "sub_5KQ2C7WZ3N4B6Y8T", s);
  CHECK(r.granted.at("marketing") == false);
  CHECK(r.granted.at("outbound") == false);
  CHECK(r.granted.count("support") == 0);
  auto back = privacy::from_record(r);
  CHECK(back.granted == s.granted);
  CHECK(back.opted_out);
  CHECK(back.restricted);
  CHECK(back.updated_at.unix_ms == s.updated_at.unix_ms);
  CHECK(privacy::to_json("sub_5KQ2C7WZ3N4B6Y8T", back) ==
        R"({"subject":"sub_5KQ2C7WZ3N4B6Y8T","purposes":{"support":true,"ai":false,)"
        R"("analytics":true,"marketing":false},"explicit":{"ai":false,"marketing":false},)"
        R"("restricted":true,"opted_out":true,"updated_at":"2025-06-08T20:59:43.123Z"})");
}

TEST_CASE("the registry judges events with the current state, per tenant", "[privacy][consent]") {
  privacy::consent_registry reg(nullptr);
  const std::string a = "sub_AAAAAAAAAAAAAAAA";
  const std::string b = "sub_BBBBBBBBBBBBBBBB";
  const auto mk = privacy::bit(purpose::marketing);
  const auto sp = privacy::bit(purpose::support);
  CHECK_FALSE(reg.find("acme", a));
  CHECK_FALSE(reg.forwards("acme", stored(1, "message", a), mk));
  CHECK(reg.forwards("acme", stored(1, "message", a), sp));

  privacy::consent_change grant;
  grant.purpose_of = purpose::marketing;
  grant.granted = true;
  auto s = reg.update("acme", a, grant);
  REQUIRE(s);
  CHECK(s->allows(purpose::marketing));
  CHECK(reg.forwards("acme", stored(2, "message", a), mk));
  CHECK_FALSE(reg.forwards("other", stored(2, "message", a), mk));  // tenants are apart

  privacy::consent_change restrict;
  restrict.restricted = true;
  reg.apply_now("acme", b, restrict);
  std::vector<store::stored_event> batch{stored(3, "message", a), stored(4, "message", b),
                                         stored(5, "consent.changed", b), stored(6, "order", ""),
                                         stored(7, "status", b)};
  CHECK(reg.filter("acme", sp, batch) == 2);
  REQUIRE(batch.size() == 3);
  CHECK(batch[0].seq == 3);
  CHECK(batch[1].seq == 5);
  CHECK(batch[2].seq == 6);
  // An event about no person needs no consent: even a marketing-only subscriber gets it.
  CHECK(reg.forwards("acme", stored(8, "commerce", ""), mk));
  std::vector<store::stored_event> none{stored(9, "commerce", ""), stored(10, "message", a)};
  CHECK(privacy::filter(nullptr, "acme", mk, none) == 1);
  CHECK(none.front().seq == 9);
  // Changes of different members of one subject do not undo each other.
  privacy::consent_change object;
  object.purpose_of = purpose::ai;
  object.granted = false;
  reg.apply_now("acme", b, object);
  CHECK(reg.find("acme", b)->restricted);
  CHECK_FALSE(reg.find("acme", b)->allows(purpose::ai));
}

TEST_CASE("an erased subject's events up to the erasure are dropped, later ones pass",
          "[privacy][consent]") {
  privacy::consent_registry reg(nullptr);
  const std::string a = "sub_AAAAAAAAAAAAAAAA";
  const auto sp = privacy::bit(purpose::support);
  privacy::consent_change grant;
  grant.purpose_of = purpose::marketing;
  grant.granted = true;
  reg.apply_now("acme", a, grant);
  reg.mark_erased("acme", a, 10);
  CHECK_FALSE(reg.find("acme", a));  // the consent record goes with the subject
  CHECK_FALSE(reg.forwards("acme", stored(9, "message", a), sp));
  CHECK_FALSE(reg.forwards("acme", stored(10, "message", a), sp));
  CHECK(reg.forwards("acme", stored(10, "privacy.erased", a), sp));
  CHECK(reg.forwards("acme", stored(11, "message", a), sp));
  CHECK_FALSE(reg.forwards("acme", stored(11, "message", a), privacy::bit(purpose::marketing)));
}
