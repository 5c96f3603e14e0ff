// End-to-end: the data-protection duties that need the real binary on its real store (DESIGN §7,
// docs/privacy.md): no plaintext of messages, quarantined bodies or outbound messages in any file
// of the store; the master key is checked at start-up; the retention sweep deletes expired events
// and audits it; an objection to `ai` stops a person's events reaching every ai backend (pull,
// SSE, push) while support backends still get them; HTTPS with server.tls.
#include <catch2/catch.hpp>

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "e2e/checks.hpp"
#include "e2e/payloads.hpp"
#include "integration/delivery/receiver.hpp"
#include "store/privacy_store.hpp"
#include "store/sqlite_log.hpp"
#include "support/contract_log.hpp"
#include "support/fixtures.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/signing.hpp"

using namespace sb::test;
namespace pl = sb::test::payloads;
using namespace std::chrono_literals;

namespace {

const test_tenant acme{"acme", "sbt_e2e_privmore_acme_2b7d9e4f1a6c"};
const std::string k_assistant = "sbt_e2e_privmore_assistant_8e1f3a5c";  // ai, stream
const std::string k_push_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string k_person = "16505551234";

struct store_options {
  std::string dir;  ///< "" = memory
  std::string master_key = test_master_key;
  std::string wa_api_base;  ///< "" = the platform's own (nothing is sent in the test)
  int retention_days = 0;   ///< 0 = default
};

/// acme with one WhatsApp channel and the subscriber "backend" holding every scope.
std::string store_config(const store_options& o) {
  std::string y = "server:\n  listen: \"127.0.0.1:0\"\n  io_threads: 2\nstorage:\n";
  if (o.dir.empty()) {
    y += "  backend: memory\n";
  } else {
    y += "  backend: sqlite\n  path: \"" + o.dir + "\"\n  durability: fsync\n";
  }
  y += "  master_key: \"" + o.master_key + "\"\ntenants:\n  - id: acme\n";
  if (o.retention_days != 0) {
    y += "    privacy:\n      retention_days: " + std::to_string(o.retention_days) + "\n";
  }
  y += "    channels:\n      - name: wa-main\n        type: whatsapp\n        app_secret: \"" +
       acme.wa_app_secret() + "\"\n        verify_token: \"" + acme.wa_verify_token() +
       "\"\n        phone_number_id: \"" + acme.wa_phone_number_id() +
       "\"\n        access_token: \"wa-access-token-acme\"\n";
  if (!o.wa_api_base.empty()) {
    y += "        api_base: \"" + o.wa_api_base + "\"\n";
  }
  y += "    subscribers:\n      - name: backend\n        token_sha256: \"" +
       token_sha256(acme.token) + "\"\n        scopes: [stream, send, privacy, admin]\n";
  return y;
}

using e2e_checks::require_status;

void post_whatsapp(const std::string& base_url, int n, const std::string& from,
                   const std::string& name, const std::string& text, long timestamp_s) {
  const auto body = pl::wa_text_webhook(pl::wamid(n), from, name, text, timestamp_s);
  require_status(request("POST", base_url + "/webhooks/acme/wa-main",
                         signing::whatsapp(acme.wa_app_secret(), body), body),
                 200);
}

long now_s() {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
}

/// The texts of the message events in `events`, in order.
std::vector<std::string> texts(const json& events) {
  std::vector<std::string> out;
  for (const auto& e : events.items()) {
    if (e["type"].str() == "message") {
      out.push_back(e["content"]["text"].str());
    }
  }
  return out;
}

/// Every regular file under `dir` (the database, its -wal and -shm, the outbox's).
std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      out.push_back(entry.path().string());
    }
  }
  return out;
}

bool has_file(const std::vector<std::string>& files, const std::string& name) {
  for (const auto& f : files) {
    if (std::filesystem::path(f).filename() == name) {
      return true;
    }
  }
  return false;
}

/// The message of the exception the gateway's start threw (it did not come up).
std::string start_failure(const std::string& yaml) {
  try {
    gateway_process gw(yaml);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("switchboard started although it should have refused to");
  return {};
}

/// A failed start ended with a non-zero exit code (not a crash, not a hang).
void require_nonzero_exit(const std::string& failure) {
  INFO(failure);
  const std::string marker = "exited with code ";
  const auto at = failure.find(marker);
  REQUIRE(at != std::string::npos);
  CHECK(failure.compare(at + marker.size(), 2, "0 ") != 0);
}

/// 1-based line of the first line of `yaml` that starts with `prefix` (after indentation).
int line_of(const std::string& yaml, const std::string& prefix) {
  int line = 1;
  std::size_t start = 0;
  while (start < yaml.size()) {
    auto end = yaml.find('\n', start);
    std::string l = yaml.substr(start, end - start);
    auto first = l.find_first_not_of(' ');
    if (first != std::string::npos && l.compare(first, prefix.size(), prefix) == 0) {
      return line;
    }
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
    ++line;
  }
  FAIL("no line starts with " << prefix);
  return 0;
}

/// POST /v1/messages, retried while a sender answers 503 (it resumes its queue after start).
http_result send_message(const std::string& base_url, const std::string& body) {
  header_list h = bearer(acme.token);
  h.emplace_back("Content-Type", "application/json");
  const auto until = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    auto r = request("POST", base_url + "/v1/messages", h, body);
    if (r.status != 503 || std::chrono::steady_clock::now() >= until) {
      return r;
    }
    std::this_thread::sleep_for(20ms);
  }
}

/// WhatsApp's Cloud API as far as a send needs it: 200 with a fresh wamid.
reply whatsapp_api(const received_request&, std::size_t index) {
  return reply{200,
               {{"Content-Type", "application/json"}},
               R"({"messaging_product":"whatsapp","contacts":[{"input":"x","wa_id":"x"}],)"
               R"("messages":[{"id":"wamid.OUT)" +
                   std::to_string(index + 1) + R"("}]})"};
}

}  // namespace

TEST_CASE(
    "the store's files hold no plaintext of messages, sender names, quarantined bodies or "
    "outbound messages",
    "[e2e][privacy][encryption]") {
  temp_dir store{"sb-e2e-privmore"};
  receiver platform(whatsapp_api);
  store_options o;
  o.dir = store.path;
  o.wa_api_base = platform.url("/wa/v21.0");
  const std::string yaml = store_config(o);
  const std::string inbound = "Tangerine-okapi-4471 is the code on my parcel";
  const std::string name = "Philomena Quackenbush";
  const std::string quarantined = "QUARANTINED-marmoset-9052";
  const std::string outbound = "Narwhal-pickle-3318, your parcel ships today";
  {
    gateway_process gw(yaml);
    post_whatsapp(gw.base_url(), 1, k_person, name, inbound, now_s());

    // Signed but not JSON: kept in quarantine, answered 400.
    const std::string broken =
        R"({"object":"whatsapp_business_account","entry":[{"note":")" + quarantined + R"(",)";
    auto r = request("POST", gw.base_url() + "/webhooks/acme/wa-main",
                     signing::whatsapp(acme.wa_app_secret(), broken), broken);
    require_status(r, 400);
    CHECK(r.body.find("quarantine #") != std::string::npos);

    // A reply to the person through the fake Cloud API: it leaves in clear (TLS aside), and is
    // kept sealed in the outbox.
    r = send_message(gw.base_url(), R"({"channel":"wa-main","to":")" + k_person + R"(","text":")" +
                                        outbound + R"(","purpose":"support"})");
    require_status(r, 202);
    REQUIRE(platform.wait_until([&](const std::vector<received_request>& all) {
      return !all.empty() && all.front().has(outbound);
    }));
    const std::string id = json::parse(r.body)["id"].str();
    const auto until = std::chrono::steady_clock::now() + 20s;
    std::string state;
    while (state != "sent" && std::chrono::steady_clock::now() < until) {
      auto m = request("GET", gw.base_url() + "/v1/messages/" + id, bearer(acme.token));
      require_status(m, 200);
      state = json::parse(m.body)["state"].str();
      std::this_thread::sleep_for(10ms);
    }
    REQUIRE(state == "sent");
    // Stored and readable through the API.
    CHECK(texts(get_events(gw.base_url(), acme.token)["events"]) ==
          std::vector<std::string>{inbound});

    auto ended = gw.terminate(10s);
    INFO(gw.output());
    REQUIRE(ended.exited);
    CHECK(ended.code == 0);
  }

  const auto files = files_under(store.path);
  INFO("files: " << files.size());
  REQUIRE(has_file(files, "switchboard.db"));
  REQUIRE(has_file(files, "outbox.db"));
  std::uintmax_t bytes = 0;
  bool routing_keys_seen = false;  // the scan reads what is there: the tenant id is not secret
  for (const auto& f : files) {
    const std::string content = read_file(f);
    bytes += content.size();
    routing_keys_seen = routing_keys_seen || content.find("acme") != std::string::npos;
    INFO(f);
    CHECK(content.find("Tangerine-okapi") == std::string::npos);
    CHECK(content.find("Quackenbush") == std::string::npos);
    CHECK(content.find("QUARANTINED-marmoset") == std::string::npos);
    CHECK(content.find("Narwhal-pickle") == std::string::npos);
    // Identifiers too: the person's number and the platform's id of the reply (at_rest_test.cpp
    // checks the same after a SIGKILL, on every channel, and after an erasure).
    CHECK(content.find(k_person) == std::string::npos);
    CHECK(content.find("wamid.OUT1") == std::string::npos);
  }
  CHECK(bytes > 0);
  CHECK(routing_keys_seen);

  // Not lost, only sealed: the same key opens it again.
  gateway_process again(yaml);
  CHECK(texts(get_events(again.base_url(), acme.token)["events"]) ==
        std::vector<std::string>{inbound});
}

TEST_CASE(
    "a missing or malformed storage.master_key stops start-up with the file, the line and the "
    "key, never the value",
    "[e2e][privacy][encryption][config]") {
  // Missing: reported at the `storage` block.
  std::string yaml = store_config({});
  {
    std::string no_key = yaml;
    const auto at = no_key.find("  master_key:");
    no_key.erase(at, no_key.find('\n', at) + 1 - at);
    const std::string failure = start_failure(no_key);
    require_nonzero_exit(failure);
    CHECK(failure.find("switchboard.yaml:" + std::to_string(line_of(no_key, "storage:")) +
                       ": storage.master_key: missing secret") != std::string::npos);
  }
  // Malformed: 63 hex characters, or 64 that are not hex; reported at the key's line.
  const std::string hex63(test_master_key, 63);
  const std::string not_hex = "zz" + std::string(test_master_key).substr(2);
  for (const auto& bad : {hex63, not_hex}) {
    store_options o;
    o.master_key = bad;
    const std::string y = store_config(o);
    const std::string failure = start_failure(y);
    INFO(failure);
    require_nonzero_exit(failure);
    CHECK(failure.find("switchboard.yaml:" + std::to_string(line_of(y, "master_key:")) +
                       ": storage.master_key: must be exactly 64 hex characters") !=
          std::string::npos);
    CHECK(failure.find(bad) == std::string::npos);  // a secret, even a wrong one
  }
  // From the environment, unset.
  {
    std::string env = yaml;
    const std::string quoted = "\"" + std::string(test_master_key) + "\"";
    env.replace(env.find(quoted), quoted.size(), "${SB_E2E_PRIVMORE_UNSET_MASTER_KEY}");
    const std::string failure = start_failure(env);
    require_nonzero_exit(failure);
    CHECK(failure.find("storage.master_key: environment variable "
                       "SB_E2E_PRIVMORE_UNSET_MASTER_KEY is not set") != std::string::npos);
  }
}

TEST_CASE("a store opened with another master key is refused, and opens again with its own key",
          "[e2e][privacy][encryption]") {
  temp_dir store{"sb-e2e-privmore"};
  store_options o;
  o.dir = store.path;
  const std::string yaml = store_config(o);
  {
    gateway_process gw(yaml);
    post_whatsapp(gw.base_url(), 1, k_person, "Sheena Nelson", "Before the key changed", now_s());
    REQUIRE(gw.terminate(10s).exited);
  }
  store_options other = o;
  other.master_key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  const std::string failure = start_failure(store_config(other));
  INFO(failure);
  require_nonzero_exit(failure);
  CHECK(failure.find("storage.master_key does not match the key this store was created with") !=
        std::string::npos);
  CHECK(failure.find(other.master_key) == std::string::npos);

  gateway_process gw(yaml);
  CHECK(texts(get_events(gw.base_url(), acme.token)["events"]) ==
        std::vector<std::string>{"Before the key changed"});
}

TEST_CASE(
    "the binary's retention sweep deletes events older than retention_days at start and "
    "audits it",
    "[e2e][privacy][retention]") {
  temp_dir store{"sb-e2e-privmore"};
  // The store as a gateway left it: two messages received three days ago, one an hour ago, and
  // a quarantined body of three days ago (written through the store library, with the key).
  const auto key = sb::crypto::from_hex(test_master_key);
  REQUIRE(key.has_value());
  const auto mac = sb::crypto::hmac_sha256(*key, "subject-key:acme");
  const std::string subject_key(reinterpret_cast<const char*>(mac.data()), mac.size());
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  const std::int64_t day_ms = 24LL * 3600 * 1000;
  auto message = [&](int n, const std::string& text, std::int64_t received_ms) {
    sb::event e;
    e.id = sb::ids::event_id();
    e.tenant = "acme";
    e.channel = {"wa-main", "whatsapp", acme.wa_phone_number_id()};
    e.type = sb::event_type::message;
    e.peer = k_person;
    e.conversation = "wa-main:" + e.peer;
    e.subject = sb::ids::subject_id(subject_key, "whatsapp", acme.wa_phone_number_id(), e.peer);
    e.platform_event_id = pl::wamid(n);
    e.dedupe_key = pl::wamid(n);
    e.content.text = text;
    e.occurred_at = sb::timestamp::from_millis(received_ms - 1000);
    e.received_at = sb::timestamp::from_millis(received_ms);
    return e;
  };
  {
    auto stores = sb::store::make_sqlite_stores(store.path, sb::config::durability::fsync, *key);
    REQUIRE(stores.ok());
    auto& log = stores.value().log;
    std::vector<sb::store::append_request> reqs{
        {"acme",
         {message(1, "Three days old, first", now_ms - 3 * day_ms),
          message(2, "Three days old, second", now_ms - 3 * day_ms + 60000),
          message(3, "An hour old", now_ms - 3600 * 1000)}}};
    std::vector<std::vector<sb::store::append_outcome>> outcomes;
    auto st = log->append(reqs, outcomes);
    INFO((st ? std::string() : st.err().message));
    REQUIRE(st.ok());
    sb::store::quarantined_body q;
    q.tenant = "acme";
    q.channel = "wa-main";
    q.reason = "malformed";
    q.received_at = sb::timestamp::from_millis(now_ms - 3 * day_ms);
    q.body = "{\"entry\":[";
    REQUIRE(log->quarantine(q).ok());
  }  // closed: the binary may open it

  store_options o;
  o.dir = store.path;
  o.retention_days = 1;
  gateway_process gw(store_config(o));
  // The sweep runs at start, on its own thread: wait for its audit entry (a generous bound).
  json entry;
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (entry.is_null() && std::chrono::steady_clock::now() < until) {
    auto r = request("GET", gw.base_url() + "/v1/audit?after=0&limit=100", bearer(acme.token));
    require_status(r, 200);
    const json audit = json::parse(r.body);
    for (const auto& a : audit["entries"].items()) {
      if (a["actor"].str() == "system:retention") {
        entry = a;
      }
    }
    if (entry.is_null()) {
      std::this_thread::sleep_for(20ms);
    }
  }
  INFO(gw.output());
  REQUIRE_FALSE(entry.is_null());
  CHECK(entry["action"].str() == "retention");
  CHECK(entry["outcome"].str() == "ok");
  INFO(entry["detail"].str());
  CHECK(entry["detail"].str().find("events=2 ") != std::string::npos);
  CHECK(entry["detail"].str().find("quarantined=1") != std::string::npos);
  CHECK(entry["subject"].str().empty());

  // Only the recent message is left; seqs are never reused.
  json page = get_events(gw.base_url(), acme.token);
  CHECK(texts(page["events"]) == std::vector<std::string>{"An hour old"});
  REQUIRE(page["events"].size() == 1);
  CHECK(page["events"][0]["seq"].u64() == 3);
  post_whatsapp(gw.base_url(), 4, k_person, "Sheena Nelson", "Today", now_s());
  page = get_events(gw.base_url(), acme.token);
  REQUIRE(page["events"].size() == 2);
  CHECK(page["events"][1]["seq"].u64() == 4);
}

TEST_CASE(
    "an objection to ai stops the person's events reaching ai backends (pull, SSE, push) "
    "while the support backend still gets them",
    "[e2e][privacy][consent][ai]") {
  // The assistant's push endpoint: 200 to everything.
  receiver hook([](const received_request& r, std::size_t) {
    contract::record_push(r.target, r.headers, r.body);  // tests/contract/events.test.mjs
    return reply{};
  });
  std::string y = store_config({});
  y += "        purposes: [support]\n"
       "      - name: assistant\n        token_sha256: \"" +
       token_sha256(k_assistant) +
       "\"\n        scopes: [stream]\n        purposes: [ai]\n"
       "      - name: assistant-hook\n        purposes: [ai]\n        push:\n"
       "          url: \"" +
       hook.url("/hook") + "\"\n          secret: \"" + k_push_secret +
       "\"\n          max_in_flight: 1\n";
  gateway_process gw(y);
  const std::string base = gw.base_url();
  const std::string other = "4915112345678";

  sse_client assistant_stream(base + "/v1/stream?after=0", bearer(k_assistant));
  REQUIRE(assistant_stream.wait_connected() == 200);
  post_whatsapp(base, 1, k_person, "Sheena Nelson", "Before: what sizes do you have?", now_s());
  auto support = get_events(base, acme.token)["events"];
  REQUIRE(support.size() == 1);
  const std::string subject = support[0]["subject"].str();
  CHECK(texts(get_events(base, k_assistant)["events"]) ==
        std::vector<std::string>{"Before: what sizes do you have?"});
  REQUIRE(assistant_stream.wait_for(1));
  REQUIRE(hook.wait_until([](const std::vector<received_request>& all) {
    return std::any_of(all.begin(), all.end(),
                       [](const received_request& q) { return q.has("Before: what sizes"); });
  }));

  // The person objects to AI processing (through the support backend's privacy scope).
  auto r =
      request("PUT", base + "/v1/subjects/" + subject + "/consent",
              {{"Authorization", "Bearer " + acme.token}, {"Content-Type", "application/json"}},
              R"({"purpose":"ai","granted":false})");
  require_status(r, 200);
  json state = json::parse(r.body);
  CHECK_FALSE(state["purposes"]["ai"].boolean());
  CHECK(state["purposes"]["support"].boolean());

  post_whatsapp(base, 2, k_person, "Sheena Nelson", "After: the blue one please", now_s());
  post_whatsapp(base, 3, other, "Otto Normal", "Someone else: hello", now_s());

  // Support: everything. The assistant: nothing of the person, not even what it read before.
  CHECK(texts(get_events(base, acme.token)["events"]) ==
        std::vector<std::string>{"Before: what sizes do you have?", "After: the blue one please",
                                 "Someone else: hello"});
  const json assistant = get_events(base, k_assistant)["events"];
  CHECK(texts(assistant) == std::vector<std::string>{"Someone else: hello"});
  bool told = false;  // consent.changed reaches every backend, so the assistant can purge too
  for (const auto& e : assistant.items()) {
    told = told || (e["type"].str() == "consent.changed" && e["subject"].str() == subject &&
                    e["consent"]["purpose"].str() == "ai" && !e["consent"]["granted"].boolean());
  }
  CHECK(told);

  // Live: the stream skips the person's new message.
  REQUIRE(assistant_stream.wait_for(3));  // before, consent.changed, someone else
  std::vector<std::string> streamed;
  for (const auto& f : assistant_stream.frames()) {
    json e = json::parse(f.data);
    streamed.push_back(e["type"].str() == "message" ? e["content"]["text"].str() : e["type"].str());
  }
  CHECK(streamed == std::vector<std::string>{"Before: what sizes do you have?", "consent.changed",
                                             "Someone else: hello"});

  // Push, one delivery at a time in seq order: once the later message of someone else arrived,
  // the person's message (stored before it) was skipped, not pending.
  REQUIRE(hook.wait_until([](const std::vector<received_request>& all) {
    return std::any_of(all.begin(), all.end(),
                       [](const received_request& q) { return q.has("Someone else: hello"); });
  }));
  std::size_t before = 0;
  for (const auto& req : hook.requests()) {
    CHECK_FALSE(req.has("After: the blue one"));
    before += req.has("Before: what sizes") ? 1 : 0;
  }
  CHECK(before == 1);
}

namespace {

/// A self-signed P-256 certificate for "localhost" (subject alternative name too), written into
/// `dir` as cert.pem and key.pem.
void make_certificate(const std::string& dir) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, pkey);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name,
                                            const_cast<char*>("DNS:localhost"));
  const bool ext_ok = san != nullptr && X509_add_ext(x, san, -1) == 1;
  X509_EXTENSION_free(san);
  const bool signed_ok = X509_sign(x, pkey, EVP_sha256()) > 0;
  FILE* kf = std::fopen((dir + "/key.pem").c_str(), "w");
  FILE* cf = std::fopen((dir + "/cert.pem").c_str(), "w");
  const bool written = kf != nullptr && cf != nullptr &&
                       PEM_write_PrivateKey(kf, pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1 &&
                       PEM_write_X509(cf, x) == 1;
  if (kf != nullptr) {
    std::fclose(kf);
  }
  if (cf != nullptr) {
    std::fclose(cf);
  }
  X509_free(x);
  EVP_PKEY_free(pkey);
  REQUIRE((pkey != nullptr && ext_ok && signed_ok && written));
}

/// The binary serving HTTPS. (gateway_process waits for "listening on http://"; this one logs
/// https.) Started with `--config <dir>/switchboard.yaml`; stopped with SIGTERM, then SIGKILL.
class tls_gateway {
 public:
  tls_gateway(const std::string& dir, const std::string& yaml) {
    const std::string config = dir + "/switchboard.yaml";
    std::ofstream(config) << yaml;
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    std::string binary = SB_BINARY;
    std::string flag = "--config";
    std::string path = config;
    char* argv[] = {binary.data(), flag.data(), path.data(), nullptr};
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {  // only async-signal-safe calls until exec
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) {
        ::_exit(127);
      }
      ::dup2(fds[1], STDOUT_FILENO);
      ::dup2(fds[1], STDERR_FILENO);
      ::execv(argv[0], argv);
      ::_exit(127);
    }
    ::close(fds[1]);
    reader_ = std::thread([this, fd = fds[0]] {
      char buf[4096];
      for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
          continue;
        }
        std::lock_guard<std::mutex> lock(mutex_);
        if (n <= 0) {
          closed_ = true;
          changed_.notify_all();
          break;
        }
        output_.append(buf, static_cast<std::size_t>(n));
        changed_.notify_all();
      }
      ::close(fd);
    });
    const std::string marker = "listening on https://127.0.0.1:";
    std::unique_lock<std::mutex> lock(mutex_);
    const bool up = changed_.wait_for(lock, 20s, [&] {
      auto at = output_.find(marker);
      return closed_ || (at != std::string::npos && output_.find('\n', at) != std::string::npos);
    });
    const auto at = output_.find(marker);
    INFO(output_);
    REQUIRE((up && at != std::string::npos));
    port_ = std::stoi(output_.substr(at + marker.size()));
  }
  ~tls_gateway() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
    reader_.join();
  }
  tls_gateway(const tls_gateway&) = delete;
  tls_gateway& operator=(const tls_gateway&) = delete;

  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string output_;
  bool closed_ = false;
};

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

/// One request over HTTPS to https://localhost:<port><path>, verifying the server against
/// `ca_file` (the self-signed certificate) and the name "localhost".
http_result https_request(int port, const std::string& ca_file, const std::string& method,
                          const std::string& path, const header_list& headers = {},
                          const std::string& body = {}) {
  CURL* curl = curl_easy_init();
  REQUIRE(curl != nullptr);
  const std::string url = "https://localhost:" + std::to_string(port) + path;
  const std::string resolve_entry = "localhost:" + std::to_string(port) + ":127.0.0.1";
  curl_slist* resolve = curl_slist_append(nullptr, resolve_entry.c_str());
  curl_slist* list = nullptr;
  for (const auto& [k, v] : headers) {
    list = curl_slist_append(list, (k + ": " + v).c_str());
  }
  http_result r;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  if (!body.empty() || method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(list);
  curl_slist_free_all(resolve);
  curl_easy_cleanup(curl);
  INFO(curl_easy_strerror(rc));
  REQUIRE(rc == CURLE_OK);
  return r;
}

}  // namespace

TEST_CASE("with server.tls the binary takes webhooks and serves the API over verified HTTPS only",
          "[e2e][privacy][tls]") {
  temp_dir dir{"sb-e2e-privmore"};
  make_certificate(dir.path);
  std::string yaml = store_config({});
  const std::string io = "  io_threads: 2\n";
  yaml.insert(
      yaml.find(io) + io.size(),
      "  tls:\n    cert: \"" + dir.path + "/cert.pem\"\n    key: \"" + dir.path + "/key.pem\"\n");
  tls_gateway gw(dir.path, yaml);
  const std::string ca = dir.path + "/cert.pem";

  const std::string body = pl::wa_text_webhook(pl::wamid(1), k_person, "Sheena Nelson",
                                               "Sent to the gateway over TLS", now_s());
  auto r = https_request(gw.port(), ca, "POST", "/webhooks/acme/wa-main",
                         signing::whatsapp(acme.wa_app_secret(), body), body);
  require_status(r, 200);
  r = https_request(gw.port(), ca, "GET", "/v1/events?after=0", bearer(acme.token));
  require_status(r, 200);
  CHECK(texts(json::parse(r.body)["events"]) ==
        std::vector<std::string>{"Sent to the gateway over TLS"});

  // Plain HTTP on the same port gets no answer: there is no clear-text endpoint.
  bool refused = false;
  try {
    refused =
        request("GET", "http://127.0.0.1:" + std::to_string(gw.port()) + "/healthz", {}, {}, 5s)
            .status != 200;
  } catch (const std::runtime_error&) {
    refused = true;
  }
  CHECK(refused);
}
