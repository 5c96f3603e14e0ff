#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "adapters/adapter.hpp"
#include "core/event.hpp"
#include "support/fixtures.hpp"
#include "unit/adapters/signing.hpp"

// The conformance test: walks the one list of adapters and holds every platform to the same
// contract (docs/DESIGN.md §4-§5, adapters/adapter.hpp). A new platform passes it by adding its
// adapter (with its `sign`) and its fixtures under tests/fixtures/<type>/.

namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// A key that holds a credential by its name: it must be declared secret.
bool names_a_credential(const std::string& key) {
  return key.find("secret") != std::string::npos || ends_with(key, "_token") ||
         ends_with(key, "_key");
}

/// A plausible value for a setting the minimal config must give.
std::string sample_value(const std::string& key) {
  if (key == "shop_domain") {
    // The shop of the Shopify fixtures: a privacy request must name the channel's own shop.
    return "acme-dev.myshopify.com";
  }
  // The portal and app of the HubSpot fixtures: a body of another portal or app is refused.
  if (key == "portal_id") {
    return "62515";
  }
  if (key == "app_id") {
    return "1160452";
  }
  if (key == "team_id") {
    // The workspace of the Slack fixtures: an event of another workspace is refused.
    return "T061EG9R6";
  }
  if (key == "address") {
    // The e-mail address the form fixtures are sent to: a message for another is misrouted.
    return "support@example.com";
  }
  if (ends_with(key, "_id")) {
    return "106540352242922";
  }
  if (key == "bot_token") {
    return "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
  }
  return "conformance-" + key + "-7f3a9c";
}

/// The smallest config the loader would accept: required keys set, defaults applied.
sb::config::channel_config minimal_channel(const sb::adapters::adapter_info& info) {
  sb::config::channel_config c;
  c.name = "conf-" + info.type;
  c.type = info.type;
  c.source = "registry_test:1";
  for (const auto& s : info.schema.settings) {
    c.settings[s.key] = s.required ? sample_value(s.key) : s.default_value;
  }
  return c;
}

/// The same settings with every secret changed: what an impostor would sign with.
std::map<std::string, std::string> wrong_secrets(const sb::adapters::adapter_info& info,
                                                 std::map<std::string, std::string> settings) {
  for (const auto& s : info.schema.settings) {
    if (s.secret) {
      settings[s.key] += "-not-it";
    }
  }
  return settings;
}

std::vector<fs::path> fixtures_of(const std::string& type) {
  std::vector<fs::path> files;
  const fs::path dir = fs::path(SB_FIXTURES_DIR) / type;
  if (fs::is_directory(dir)) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      // .txt: bodies that are not JSON (HTML forms), signed by the type's `sign_body`.
      const auto ext = entry.path().extension();
      if (entry.is_regular_file() && (ext == ".json" || ext == ".txt")) {
        files.push_back(entry.path());
      }
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

const std::set<std::string>& schema_v1_types() {
  namespace t = sb::event_type;
  static const std::set<std::string> types{
      t::message,         t::message_edited, t::reaction,
      t::postback,        t::status,         t::order,
      t::customer,        t::commerce,       t::privacy_data_request,
      t::privacy_redact,  t::privacy_erased, t::consent_changed,
      t::outbound_status, t::system};
  return types;
}

sb::errc code_of(const sb::status& st) {
  return st.ok() ? sb::errc::ok : st.err().code;
}

}  // namespace

TEST_CASE("adapter types are unique and each is found by its type", "[registry][adapters]") {
  const auto& all = sb::adapters::all();
  REQUIRE_FALSE(all.empty());
  std::set<std::string> seen;
  for (const auto& a : all) {
    INFO(a.type);
    CHECK_FALSE(a.type.empty());
    CHECK(seen.insert(a.type).second);
    CHECK(sb::adapters::find(a.type) == &a);
    CHECK(a.make != nullptr);
    CHECK(a.account != nullptr);
  }
  CHECK(sb::adapters::find("no-such-platform") == nullptr);
  CHECK(sb::adapters::schemas().size() == all.size());
  for (const char* meta : {"whatsapp", "messenger", "instagram"}) {
    CHECK(seen.count(meta) == 1);
  }
}

TEST_CASE("every adapter declares a schema whose credentials are secret", "[registry][adapters]") {
  for (const auto& a : sb::adapters::all()) {
    DYNAMIC_SECTION("type " << a.type) {
      CHECK(a.schema.type == a.type);
      REQUIRE_FALSE(a.schema.settings.empty());
      std::set<std::string> keys;
      bool has_secret = false;
      for (const auto& s : a.schema.settings) {
        INFO(s.key);
        CHECK(keys.insert(s.key).second);
        CHECK_FALSE(s.description.empty());
        if (names_a_credential(s.key)) {
          CHECK(s.secret);
        }
        if (s.required) {
          CHECK(s.default_value.empty());
        }
        has_secret = has_secret || (s.secret && s.required);
      }
      CHECK(has_secret);  // something must authenticate the platform
      REQUIRE_FALSE(a.headers.empty());
      for (const auto& h : a.headers) {
        CHECK(std::none_of(h.begin(), h.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
      }
    }
  }
}

TEST_CASE("every adapter rejects missing and tampered signatures", "[registry][adapters]") {
  for (const auto& a : sb::adapters::all()) {
    DYNAMIC_SECTION("type " << a.type) {
      const auto cfg = minimal_channel(a);
      auto adapter = a.make(cfg);
      REQUIRE(adapter);
      const auto files = fixtures_of(a.type);
      const std::string name = files.empty() ? "" : files.front().filename().string();
      const std::string body =
          files.empty() ? std::string("{}") : sb::test::read_file(files.front().string());

      auto good = sb::test::signed_post(a.type, cfg.settings, body, name);
      INFO(adapter->verify(good.req()).err().message);
      CHECK(adapter->verify(good.req()).ok());

      auto unsigned_post = sb::test::signed_post(a.type, cfg.settings, body, name);
      unsigned_post.headers.clear();
      CHECK(code_of(adapter->verify(unsigned_post.req())) == sb::errc::missing_signature);

      auto impostor = sb::test::signed_post(a.type, wrong_secrets(a, cfg.settings), body, name);
      CHECK(code_of(adapter->verify(impostor.req())) == sb::errc::bad_signature);

      // Where the signature covers the body, a body changed after signing must fail.
      auto tampered = sb::test::signed_post(a.type, cfg.settings, body, name);
      tampered.body[tampered.body.size() / 2] ^= 0x01;
      const auto resigned = sb::test::sign_for(a.type, cfg.settings, tampered.body, name);
      const bool body_signed = !resigned.empty() && !tampered.headers.empty() &&
                               resigned.front().value != tampered.headers.front().value;
      if (body_signed) {
        CHECK(code_of(adapter->verify(tampered.req())) == sb::errc::bad_signature);
      }
    }
  }
}

TEST_CASE("every fixture of every adapter parses into schema v1 events", "[registry][adapters]") {
  for (const auto& a : sb::adapters::all()) {
    DYNAMIC_SECTION("type " << a.type) {
      const auto cfg = minimal_channel(a);
      auto adapter = a.make(cfg);
      const auto files = fixtures_of(a.type);
      INFO("fixtures in tests/fixtures/" << a.type);
      REQUIRE_FALSE(files.empty());
      for (const auto& file : files) {
        const auto name = file.filename().string();
        INFO(name);
        auto post =
            sb::test::signed_post(a.type, cfg.settings, sb::test::read_file(file.string()), name);
        auto verified = adapter->verify(post.req());
        INFO(verified.err().message);
        REQUIRE(verified.ok());
        std::vector<sb::event> out;
        auto parsed = adapter->parse(post.req(), out);
        INFO(parsed.err().message);
        REQUIRE(parsed.ok());
        // A setup request (a webhook URL's verification) is answered at the edge and stores
        // nothing: it may parse into no event.
        if (!adapter->setup_request(post.req(), true)) {
          CHECK_FALSE(out.empty());
        }
        for (const auto& e : out) {
          INFO("event type " << e.type << " kind " << e.kind);
          CHECK(schema_v1_types().count(e.type) == 1);
          CHECK(e.channel.name == cfg.name);
          CHECK(e.channel.type == a.type);
          CHECK(e.channel.account == a.account(cfg));
          CHECK_FALSE(e.dedupe_key.empty());
          if (!e.conversation.empty()) {
            CHECK(e.conversation == cfg.name + ":" + e.peer);
          }
          CHECK(e.id.empty());
          CHECK(e.seq == 0);
        }
      }
    }
  }
}
