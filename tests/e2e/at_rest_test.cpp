// End-to-end, the real binary killed with SIGKILL (no clean checkpoint) and every file it wrote in
// its data directory read back byte by byte (docs/privacy.md "Encryption at rest", docs/outbound.md
// "At rest"): after people wrote on WhatsApp, Telegram and Messenger, got replies through fake
// platform APIs and delivery receipts were correlated, no file holds a phone number, chat id,
// PSID, conversation key, platform message id, idempotency key, name or text in clear; after one
// person's erasure, not even the sealed outbox rows of that person (which the master key could
// still open) are left, in the databases or their WALs.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "e2e/checks.hpp"
#include "e2e/outbound_support.hpp"
#include "e2e/payloads.hpp"
#include "integration/delivery/receiver.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"
#include "support/temp_dir.hpp"
#include "e2e/yaml_config.hpp"

using namespace sb::test;
namespace pl = sb::test::payloads;
using namespace std::chrono_literals;
using e2e_checks::require_status;

namespace {

const test_tenant acme{"acme", "sbt_e2e_atrest_acme_5d8c1f3a9e27"};

// The people, their names and what they wrote.
const std::string k_phone = "16505551234";
const std::string k_phone_b64 = "MTY1MDU1NTEyMzQ";  // a wamid carries the number in base64
const std::string k_wa_name = "Philomena Quackenbush";
const std::string k_chat = "532189746";
const std::string k_tg_name = "Bartholomew";
const std::string k_psid = "6543219876543210";
const std::string k_fb_mid_in = "m_Inbound-Heron-5521";
const std::string k_other_phone = "16505557788";  // a second WhatsApp person (erasure test)

// The platforms' ids of the replies: WhatsApp's encodes the recipient, as real wamids do.
const std::string k_wa_out_id = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIzRkE1QjdDOUQxRTNGNUE3QjkA";
const std::string k_wa_out_tail = "RGBIzRkE1QjdDOUQxRTNGNUE3QjkA";
const std::string k_other_out_id = "wamid.HBgLMTY1MDU1NTc3ODgVAgARGBI0QkM2RDhFMEYyQTRCNkM4RDAA";
const std::string k_fb_out_id = "m_Outbound-Pelican-7342";
const std::string k_idempotency_key = "reply-Quokka-2291";

using outbound_e2e::now_ms;
using outbound_e2e::now_s;

/// The platforms' send APIs on one local server: WhatsApp answers the id of the message's
/// recipient, Messenger a fixed mid, Telegram a message id.
reply platform_api(const received_request& r, std::size_t index) {
  const std::vector<std::pair<std::string, std::string>> json_type{
      {"Content-Type", "application/json"}};
  if (r.target.rfind("/wa/", 0) == 0) {
    const std::string id = r.has(k_other_phone) ? k_other_out_id : k_wa_out_id;
    return reply{200, json_type,
                 R"({"messaging_product":"whatsapp","contacts":[{"input":"x","wa_id":"x"}],)"
                 R"("messages":[{"id":")" +
                     id + R"("}]})"};
  }
  if (r.target.rfind("/tg/", 0) == 0) {
    return reply{200, json_type,
                 R"({"ok":true,"result":{"message_id":)" + std::to_string(7000 + index) +
                     R"(,"chat":{"id":)" + k_chat + R"(,"type":"private"},"date":1733230345}})"};
  }
  if (r.target.rfind("/fb/", 0) == 0) {
    return reply{200, json_type,
                 R"({"recipient_id":")" + k_psid + R"(","message_id":")" + k_fb_out_id + R"("})"};
  }
  return reply{404, {}, "{}"};
}

/// acme with wa-main, tg and fb pointing at `platforms`, a SQLite store in `dir` (fsync), and
/// the subscriber "backend" with every scope.
std::string config_yaml(const receiver& platforms, const std::string& dir) {
  return yaml_config()
      .server("io_threads: 2")
      .sqlite(dir)
      .tenant("acme")
      .whatsapp(acme, {{"access_token", "wa-access-token-acme"},
                       {"api_base", platforms.url("/wa/v21.0")}})
      .telegram(acme, {{"bot_token", "123456789:tg-bot-token-acme"},
                       {"api_base", platforms.url("/tg")}})
      .messenger(acme, {{"access_token", "fb-access-token-acme"},
                        {"api_base", platforms.url("/fb/v21.0")}})
      .subscriber("backend", acme.token, "[stream, send, privacy, admin]")
      .str();
}

void post_whatsapp(const gateway_process& gw, int n, const std::string& from,
                   const std::string& name, const std::string& text) {
  const auto body = pl::wa_text_webhook(pl::wamid(n), from, name, text, now_s());
  require_status(request("POST", gw.base_url() + "/webhooks/acme/wa-main",
                         signing::whatsapp(acme.wa_app_secret(), body), body),
                 200);
}

void post_whatsapp_status(const gateway_process& gw, const std::string& wamid,
                          const std::string& state, const std::string& recipient) {
  const auto body = pl::wa_status_webhook(wamid, state, recipient, now_s());
  require_status(request("POST", gw.base_url() + "/webhooks/acme/wa-main",
                         signing::whatsapp(acme.wa_app_secret(), body), body),
                 200);
}

void post_telegram(const gateway_process& gw, const std::string& text) {
  const std::string body = R"({"update_id":9001,"message":{"message_id":5001,"from":{"id":)" +
                           k_chat + R"(,"is_bot":false,"first_name":")" + k_tg_name +
                           R"("},"chat":{"id":)" + k_chat + R"(,"first_name":")" + k_tg_name +
                           R"(","type":"private"},"date":)" + std::to_string(now_s()) +
                           R"(,"text":)" + pl::quoted(text) + "}}";
  require_status(request("POST", gw.base_url() + "/webhooks/acme/tg",
                         signing::telegram(acme.tg_secret_token()), body),
                 200);
}

void post_messenger(const gateway_process& gw, const std::string& item) {
  const std::string body = R"({"object":"page","entry":[{"id":")" + acme.fb_page_id() +
                           R"(","time":)" + std::to_string(now_ms()) + R"(,"messaging":[)" + item +
                           "]}]}";
  require_status(request("POST", gw.base_url() + "/webhooks/acme/fb",
                         signing::messenger(acme.fb_app_secret(), body), body),
                 200);
}

std::string messenger_item(const std::string& what) {
  return R"({"sender":{"id":")" + k_psid + R"("},"recipient":{"id":")" + acme.fb_page_id() +
         R"("},"timestamp":)" + std::to_string(now_ms()) + "," + what + "}";
}

/// POST /v1/messages that must be accepted; the message's id.
std::string send_ok(const gateway_process& gw, const std::string& body,
                    const header_list& extra = {}) {
  auto r = outbound_e2e::send_message(gw, acme.token, body, extra);
  require_status(r, 202);
  return json::parse(r.body)["id"].str();
}

/// The message once its state is `state`.
json wait_state(const gateway_process& gw, const std::string& id, const std::string& state) {
  return json::parse(outbound_e2e::wait_message_state(gw, acme.token, id, state).body);
}

struct file {
  std::string path;
  std::string bytes;
};

/// Every regular file under `dir`, whatever the gateway named it, with its bytes.
std::vector<file> files_under(const std::string& dir) {
  std::vector<file> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      std::ifstream in(entry.path(), std::ios::binary);
      out.push_back({entry.path().string(), std::string(std::istreambuf_iterator<char>(in),
                                                        std::istreambuf_iterator<char>())});
    }
  }
  return out;
}

const file* find_file(const std::vector<file>& files, const std::string& name) {
  for (const auto& f : files) {
    if (std::filesystem::path(f.path).filename() == name) {
      return &f;
    }
  }
  return nullptr;
}

/// Checks that no file holds any of `secrets`; a failure names the file and the secret.
void check_absent(const std::vector<file>& files, const std::vector<std::string>& secrets) {
  for (const auto& f : files) {
    for (const auto& s : secrets) {
      INFO(f.path << " (" << f.bytes.size() << " bytes) holds " << s);
      CHECK(f.bytes.find(s) == std::string::npos);
    }
  }
}

/// The stored bytes of `column` of outbound message `id`, read from the live gateway's
/// outbox.db by a connection of the test's own (closed again at once, so it holds no snapshot).
std::string outbox_column(const std::string& dir, const std::string& column,
                          const std::string& id) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2((dir + "/outbox.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
          SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* s = nullptr;
  const std::string sql = "SELECT " + column + " FROM outbox WHERE id = ?1";
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
  sqlite3_bind_text(s, 1, id.c_str(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
  std::string out;
  if (sqlite3_step(s) == SQLITE_ROW) {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s, 0));
    out.assign(p == nullptr ? "" : p, static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

}  // namespace

TEST_CASE(
    "after a SIGKILL no file in the data directory holds a phone number, chat id, PSID, "
    "conversation key, platform message id, idempotency key, name or text in clear",
    "[e2e][privacy][encryption]") {
  receiver platforms(platform_api);
  temp_dir dir{"sb-e2e-atrest"};
  const std::string yaml = config_yaml(platforms, dir.path);
  const std::string wa_text = "Tangerine-okapi-4471 is the code on my parcel";
  const std::string tg_text = "Velvet-armadillo-6620 where is it";
  const std::string fb_text = "Saffron-wombat-1187 any news";
  const std::string wa_reply = "Narwhal-pickle-3318, your parcel ships today";
  const std::string tg_reply = "Cobalt-lemur-9043, it left the depot";
  const std::string fb_reply = "Juniper-tapir-2756, tomorrow morning";
  std::string wa_id, tg_id, fb_id;
  {
    gateway_process gw(yaml);
    post_whatsapp(gw, 1, k_phone, k_wa_name, wa_text);
    post_telegram(gw, tg_text);
    post_messenger(gw, messenger_item(R"("message":{"mid":")" + k_fb_mid_in + R"(","text":)" +
                                      pl::quoted(fb_text) + "}"));

    wa_id = send_ok(
        gw, R"({"channel":"wa-main","to":")" + k_phone + R"(","text":")" + wa_reply + R"("})",
        {{"Idempotency-Key", k_idempotency_key}});
    tg_id =
        send_ok(gw, R"({"channel":"tg","to":")" + k_chat + R"(","text":")" + tg_reply + R"("})");
    fb_id =
        send_ok(gw, R"({"channel":"fb","to":")" + k_psid + R"(","text":")" + fb_reply + R"("})");
    CHECK(wait_state(gw, wa_id, "sent")["platform_message_id"].str() == k_wa_out_id);
    wait_state(gw, tg_id, "sent");
    CHECK(wait_state(gw, fb_id, "sent")["platform_message_id"].str() == k_fb_out_id);

    // Receipts found by their platform ids (the outbox's digest lookup).
    post_whatsapp_status(gw, k_wa_out_id, "delivered", k_phone);
    post_messenger(gw, messenger_item(R"("delivery":{"mids":[")" + k_fb_out_id +
                                      R"("],"watermark":)" + std::to_string(now_ms()) + "}"));
    wait_state(gw, wa_id, "delivered");
    wait_state(gw, fb_id, "delivered");
  }  // SIGKILL: no clean shutdown, no final checkpoint

  const auto files = files_under(dir.path);
  INFO("files: " << files.size());
  for (const char* name : {"switchboard.db", "outbox.db", "switchboard.db-wal", "outbox.db-wal"}) {
    INFO(name);
    REQUIRE(find_file(files, name) != nullptr);
  }
  // The kill left the WALs as they were: what the test reads is what a crash would keep.
  CHECK_FALSE(find_file(files, "outbox.db-wal")->bytes.empty());
  CHECK_FALSE(find_file(files, "switchboard.db-wal")->bytes.empty());
  check_absent(files,
               {k_phone, k_phone_b64, k_chat, k_psid, k_wa_out_tail, k_fb_out_id, k_fb_mid_in,
                k_idempotency_key, k_wa_name, k_tg_name, "Tangerine-okapi", "Velvet-armadillo",
                "Saffron-wombat", "Narwhal-pickle", "Cobalt-lemur", "Juniper-tapir"});

  // Sealed, not lost: after the restart every message answers as before.
  gateway_process again(yaml);
  CHECK(wait_state(again, wa_id, "delivered")["conversation"].str() == "wa-main:" + k_phone);
  CHECK(wait_state(again, tg_id, "sent")["conversation"].str() == "tg:" + k_chat);
  CHECK(wait_state(again, fb_id, "delivered")["platform_message_id"].str() == k_fb_out_id);
  json events = get_events(again.base_url(), acme.token, "after=0&limit=1000&types=message");
  CHECK(events["events"].items().size() == 3);
}

TEST_CASE(
    "after an erasure and a SIGKILL no file in the data directory holds the erased person's "
    "identifiers or sealed outbox rows, while another person's are kept",
    "[e2e][privacy][erasure]") {
  receiver platforms(platform_api);
  temp_dir dir{"sb-e2e-atrest"};
  const std::string yaml = config_yaml(platforms, dir.path);
  std::string erased_id, kept_id;
  std::vector<std::string> sealed_copies;
  std::string kept_record;
  {
    gateway_process gw(yaml);
    post_whatsapp(gw, 1, k_phone, k_wa_name, "Tangerine-okapi-4471 is the code on my parcel");
    post_whatsapp(gw, 2, k_other_phone, "Ignatius Fairweather", "Marmalade-otter-3901 hello");
    erased_id = send_ok(gw,
                        R"({"channel":"wa-main","to":")" + k_phone +
                            R"(","text":"Narwhal-pickle-3318, your parcel ships today"})",
                        {{"Idempotency-Key", k_idempotency_key}});
    kept_id = send_ok(gw, R"({"channel":"wa-main","to":")" + k_other_phone +
                              R"(","text":"Quince-heron-5520, thanks"})");
    wait_state(gw, erased_id, "sent");
    wait_state(gw, kept_id, "sent");
    post_whatsapp_status(gw, k_wa_out_id, "delivered", k_phone);
    wait_state(gw, erased_id, "delivered");

    // What the outbox holds of the person: sealed under a key derived from the master key, so
    // no copy of it may outlive the erasure, in the database file or in the WAL.
    for (const char* column :
         {"record", "platform_message_id", "platform_digest", "idempotency_digest"}) {
      sealed_copies.push_back(outbox_column(dir.path, column, erased_id));
      INFO(column);
      REQUIRE(sealed_copies.back().size() >= 16);
    }
    kept_record = outbox_column(dir.path, "record", kept_id);
    REQUIRE_FALSE(kept_record.empty());

    const std::string subject = outbound_e2e::newest_subject(gw, acme.token, "wa-main:" + k_phone);
    require_status(request("DELETE", gw.base_url() + "/v1/subjects/" + subject, bearer(acme.token)),
                   200);
    // The outbox erases on its own writer, which answers reads in order: once the message is
    // gone for a reader, the erasure (and its WAL truncation) is done.
    require_status(request("GET", gw.base_url() + "/v1/messages/" + erased_id, bearer(acme.token)),
                   404);
    wait_state(gw, kept_id, "sent");
  }  // SIGKILL

  const auto files = files_under(dir.path);
  REQUIRE(find_file(files, "outbox.db") != nullptr);
  check_absent(files, sealed_copies);
  check_absent(files, {k_phone, k_phone_b64, k_wa_out_tail, k_idempotency_key, k_wa_name,
                       "Tangerine-okapi", "Narwhal-pickle"});
  bool kept_found = false;
  for (const auto& f : files) {
    kept_found = kept_found || f.bytes.find(kept_record) != std::string::npos;
  }
  CHECK(kept_found);

  // The other person's message is still there after the restart; the erased one is not.
  gateway_process again(yaml);
  CHECK(wait_state(again, kept_id, "sent")["conversation"].str() == "wa-main:" + k_other_phone);
  require_status(request("GET", again.base_url() + "/v1/messages/" + erased_id, bearer(acme.token)),
                 404);
}
