// limits.events_per_webhook in the channel's plain logic (actors/channel_logic.hpp): a signed body
// with more events than the bound is refused with 413 before anything is stored or quarantined.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <variant>
#include <vector>

#include "actors/channel_logic.hpp"
#include "adapters/whatsapp/whatsapp.hpp"
#include "e2e/payloads.hpp"
#include "unit/adapters/signing.hpp"

using namespace sb;
namespace pl = sb::test::payloads;

namespace {

const std::map<std::string, std::string> k_settings{
    {"app_secret", "5f0c1e9a7b3d2c4e6a8b0d1f3e5c7a9b"},
    {"verify_token", "wa-verify-Token-8c1f"},
    {"phone_number_id", "106540352242922"},
    {"access_token", ""},
    {"waba_id", "102290129340398"},
    {"api_base", "https://graph.facebook.com/v21.0"},
};

/// One WhatsApp body with `n` text messages, each from a different person.
std::string many_senders(int n) {
  std::vector<std::string> contacts;
  std::vector<std::string> messages;
  for (int i = 0; i < n; ++i) {
    const std::string from = std::to_string(4915100000000LL + i);
    contacts.push_back(pl::wa_contact(from, "Person " + std::to_string(i)));
    messages.push_back(pl::wa_text(pl::wamid(i), from, "hello " + std::to_string(i), 1749416383));
  }
  return pl::wa_webhook({pl::wa_value(contacts, messages)});
}

actors::ingest_outcome ingest(actors::channel_logic& logic, const std::string& body,
                              const std::string& app_secret = k_settings.at("app_secret")) {
  auto settings = k_settings;
  settings["app_secret"] = app_secret;
  auto w = test::signed_post("whatsapp", settings, body);
  return logic.ingest(w.method, w.query, w.headers, w.body);
}

actors::channel_logic make_logic(std::size_t max_events) {
  const auto channel = test::make_channel("wa-main", "whatsapp", k_settings);
  return actors::channel_logic("acme", channel, adapters::whatsapp::info(), std::string(32, '\x07'),
                               {}, max_events);
}

}  // namespace

TEST_CASE(
    "a signed body with more events than limits.events_per_webhook gets 413 and nothing "
    "to store",
    "[actors][limits]") {
  auto logic = make_logic(20);
  auto outcome = ingest(logic, many_senders(21));
  auto* now = std::get_if<actors::respond_now>(&outcome);
  REQUIRE(now != nullptr);  // neither stored nor quarantined
  CHECK(now->response.status == 413);
  CHECK(now->response.code == errc::too_many_events);
  CHECK(now->response.body.find(R"("error":"too_many_events")") != std::string::npos);
  CHECK(now->response.body.find("21 events; at most 20") != std::string::npos);
}

TEST_CASE("a body with exactly limits.events_per_webhook events is stored whole",
          "[actors][limits]") {
  auto logic = make_logic(20);
  auto outcome = ingest(logic, many_senders(20));
  auto* store = std::get_if<actors::store_events>(&outcome);
  REQUIRE(store != nullptr);
  CHECK(store->events.size() == 20);
  CHECK(store->events.front().conversation == "wa-main:4915100000000");
  CHECK(store->events.back().conversation == "wa-main:4915100000019");
}

TEST_CASE("an oversized body with a forged signature is refused as forged, not counted",
          "[actors][limits]") {
  auto logic = make_logic(20);
  auto outcome = ingest(logic, many_senders(21), "not-the-app-secret");
  auto* now = std::get_if<actors::respond_now>(&outcome);
  REQUIRE(now != nullptr);
  CHECK(now->response.status == 401);
}

TEST_CASE("the default bound is limits.events_per_webhook's default, 1000", "[actors][limits]") {
  const auto channel = test::make_channel("wa-main", "whatsapp", k_settings);
  actors::channel_logic logic("acme", channel, adapters::whatsapp::info(), std::string(32, '\x07'));
  auto over = ingest(logic, many_senders(1001));
  auto* now = std::get_if<actors::respond_now>(&over);
  REQUIRE(now != nullptr);
  CHECK(now->response.status == 413);
  auto at = ingest(logic, many_senders(1000));
  REQUIRE(std::holds_alternative<actors::store_events>(at));
  CHECK(std::get<actors::store_events>(at).events.size() == 1000);
}
