// Platforms are plugins (docs/architecture.md "Adding a platform"): everything the gateway knows
// about a platform lives in its folder under adapters/ and is reached through its
// `adapter_info`. These tests scan the source tree (SB_SOURCE_DIR) and fail when code outside
// the platforms' folders names a platform type. Comments are not code and are skipped: they may
// name a platform as an example.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "adapters/adapter.hpp"

namespace {

namespace fs = std::filesystem;

/// `text` with its comments blanked out (string and character literals, raw strings included,
/// are kept: a type named in a literal is named in code).
std::string code_only(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    if (c == '/' && i + 1 < n && text[i + 1] == '/') {
      while (i < n && text[i] != '\n') {
        ++i;
      }
    } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
      const auto end = text.find("*/", i + 2);
      i = end == std::string::npos ? n : end + 2;
      out += ' ';
    } else if (c == 'R' && i + 1 < n && text[i + 1] == '"' &&
               (i == 0 ||
                !(std::isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '_'))) {
      const auto open = text.find('(', i + 2);
      if (open == std::string::npos) {
        out.append(text, i, n - i);
        break;
      }
      const std::string close = ")" + text.substr(i + 2, open - i - 2) + "\"";
      const auto end = text.find(close, open + 1);
      const std::size_t stop = end == std::string::npos ? n : end + close.size();
      out.append(text, i, stop - i);
      i = stop;
    } else if (c == '"' || c == '\'') {
      std::size_t j = i + 1;
      while (j < n && text[j] != c && text[j] != '\n') {
        j += text[j] == '\\' ? 2 : 1;
      }
      const std::size_t stop = std::min(n, j + 1);
      out.append(text, i, stop - i);
      i = stop;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

/// The platform types: every type of the registry, and the five the gateway started with (so
/// that removing one from the registry does not hide it).
std::set<std::string> platform_types() {
  std::set<std::string> types{"whatsapp", "telegram", "messenger", "instagram", "shopify"};
  for (const auto& a : sb::adapters::all()) {
    types.insert(lower(a.type));
  }
  return types;
}

/// Types that are also words of the data every channel carries: e-mail addresses are masked
/// everywhere (`[email]`, the `email_address` redaction, Meta's `user_email` quick reply). Code
/// names such a platform only by its type's literal (`"email"`) or its namespace (`email::`).
const std::set<std::string>& common_word_types() {
  static const std::set<std::string> words{"email"};
  return words;
}

/// "<file>:<line>: <type>" for every platform type named in the code of `text`.
std::vector<std::string> findings(const std::string& file, const std::string& text,
                                  const std::set<std::string>& types) {
  std::vector<std::string> out;
  const std::string code = lower(code_only(text));
  for (const auto& type : types) {
    if (common_word_types().count(type) != 0) {
      for (const std::string& named : {"\"" + type + "\"", type + "::"}) {
        for (auto at = code.find(named); at != std::string::npos; at = code.find(named, at + 1)) {
          const auto line =
              1 + std::count(code.begin(), code.begin() + static_cast<long>(at), '\n');
          out.push_back(file + ":" + std::to_string(line) + ": " + type);
        }
      }
      continue;
    }
    for (auto at = code.find(type); at != std::string::npos; at = code.find(type, at + 1)) {
      const auto line = 1 + std::count(code.begin(), code.begin() + static_cast<long>(at), '\n');
      out.push_back(file + ":" + std::to_string(line) + ": " + type);
    }
  }
  return out;
}

bool is_source(const fs::path& p) {
  const auto ext = p.extension().string();
  return ext == ".cpp" || ext == ".hpp" || ext == ".h" || ext == ".cc";
}

std::string contents(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const fs::path k_root = SB_SOURCE_DIR;

}  // namespace

TEST_CASE("the platform scan sees a type named in code and skips one named in a comment",
          "[adapters][plugins]") {
  const std::set<std::string> types{"whatsapp", "telegram"};
  CHECK(findings("x.cpp", "auto t = \"whatsapp\";\n", types).size() == 1);
  CHECK(findings("x.cpp", "int n;\nbool telegram_only = true;\n", types) ==
        std::vector<std::string>{"x.cpp:2: telegram"});
  CHECK(findings("x.cpp", "auto u = \"https://x\";  // WhatsApp allows it\n", types).empty());
  CHECK(findings("x.cpp", "/* Telegram\n and WhatsApp */ int a = 1;\n", types).empty());
  CHECK(findings("x.cpp", "auto b = R\"({\"object\":\"whatsapp\"})\";\n", types).size() == 1);
  CHECK(findings("x.cpp", "auto c = \"a // b\"; auto d = \"WhatsApp\";\n", types).size() == 1);
  const std::set<std::string> word{"email"};
  CHECK(findings("x.cpp", "mask_emails(t); auto m = \"[email]\"; x.user_email;\n", word).empty());
  CHECK(findings("x.cpp", "if (type == \"email\") {}\n", word).size() == 1);
  CHECK(findings("x.cpp", "auto i = email::info();\n", word).size() == 1);
}

TEST_CASE("no code outside the platforms' folders names a platform type", "[adapters][plugins]") {
  const auto types = platform_types();
  std::vector<std::string> found;
  std::size_t files = 0;
  for (const char* dir : {"src", "actors", "config", "loadtest"}) {
    REQUIRE(fs::is_directory(k_root / dir));
    for (const auto& entry : fs::recursive_directory_iterator(k_root / dir)) {
      if (!entry.is_regular_file() || !is_source(entry.path())) {
        continue;
      }
      ++files;
      const auto rel = fs::relative(entry.path(), k_root).string();
      for (auto& f : findings(rel, contents(entry.path()), types)) {
        found.push_back(std::move(f));
      }
    }
  }
  // The platform-neutral part of adapters/ too: everything but the platforms' folders and the
  // registry's list (the one line a platform adds there).
  for (const auto& entry : fs::recursive_directory_iterator(k_root / "adapters")) {
    const auto rel = fs::relative(entry.path(), k_root / "adapters");
    const auto top = rel.begin()->string();
    const bool platform_folder = fs::is_directory(k_root / "adapters" / top) && top != "outbound";
    if (!entry.is_regular_file() || !is_source(entry.path()) || platform_folder ||
        rel == "registry.cpp") {
      continue;
    }
    ++files;
    for (auto& f : findings("adapters/" + rel.string(), contents(entry.path()), types)) {
      found.push_back(std::move(f));
    }
  }
  INFO("files scanned: " << files);
  CHECK(files > 100);
  for (const auto& f : found) {
    UNSCOPED_INFO(f);
  }
  CHECK(found.empty());
}

TEST_CASE("every platform's own folder is where its type is named", "[adapters][plugins]") {
  // The scan above is only as good as its reading of real files: each platform's folder, read
  // the same way, does name its type (its `info()`).
  for (const auto& a : sb::adapters::all()) {
    INFO(a.type);
    const auto folder = k_root / "adapters" / a.type;
    REQUIRE(fs::is_directory(folder));
    std::size_t named = 0;
    for (const auto& entry : fs::directory_iterator(folder)) {
      if (entry.is_regular_file() && is_source(entry.path())) {
        named += findings(entry.path().string(), contents(entry.path()), {lower(a.type)}).size();
      }
    }
    CHECK(named > 0);
  }
}

TEST_CASE("every platform fills the parts of adapter_info the gateway reaches it through",
          "[adapters][plugins]") {
  for (const auto& a : sb::adapters::all()) {
    INFO(a.type);
    CHECK_FALSE(a.display_name.empty());
    CHECK(a.make != nullptr);
    CHECK(a.account != nullptr);
    CHECK(a.sign != nullptr);
    CHECK(a.synthesize != nullptr);
    // Privacy hooks come whole or not at all.
    const auto& p = a.privacy;
    const bool deletion = p.deletion_enabled != nullptr;
    CHECK((p.deletion_request_of != nullptr) == deletion);
    CHECK((p.verify_deletion != nullptr) == deletion);
    CHECK((p.sign_deletion != nullptr) == deletion);
    // A request is named by a header or inside the body, never both.
    CHECK((p.request_action != nullptr) ==
          (!p.request_header.empty() || p.requests_in_body != nullptr));
    CHECK_FALSE((!p.request_header.empty() && p.requests_in_body != nullptr));
    if (!p.request_header.empty()) {
      CHECK(std::find(a.headers.begin(), a.headers.end(), p.request_header) != a.headers.end());
    }
    // A type that sends declares the common outbound settings and builds its sending side.
    if (a.outbound != nullptr) {
      sb::config::channel_config cfg;
      cfg.name = "c";
      cfg.type = a.type;
      for (const auto& s : a.schema.settings) {
        cfg.settings[s.key] = s.default_value.empty() ? "x" : s.default_value;
      }
      auto out = a.outbound(cfg);
      REQUIRE(out != nullptr);
      CHECK(out->type() == a.type);
      CHECK(out->name() == "c");
      CHECK(out->limits().per_channel_rps > 0);
      if (out->window().window_hours > 0) {
        CHECK(out->window().platform == a.display_name);
      }
    }
  }
}

TEST_CASE("a deletion callback signed by its platform's sign_deletion verifies, and only then",
          "[adapters][plugins]") {
  const sb::timestamp now = sb::timestamp::from_millis(1'800'000'000'000);
  std::size_t with_callback = 0;
  for (const auto& a : sb::adapters::all()) {
    const auto& p = a.privacy;
    if (p.deletion_enabled == nullptr) {
      continue;
    }
    INFO(a.type);
    ++with_callback;
    sb::config::channel_config cfg;
    cfg.name = "c";
    cfg.type = a.type;
    CHECK_FALSE(p.deletion_enabled(cfg));
    auto with_secrets = [&a](sb::config::channel_config c, const std::string& secret) {
      for (const auto& spec : a.schema.settings) {
        if (spec.secret) {
          c.settings[spec.key] = secret;
        }
      }
      return c;
    };
    cfg = with_secrets(cfg, "the-secret");
    REQUIRE(p.deletion_enabled(cfg));
    const auto signed_bytes = p.sign_deletion(cfg, "218471", now.unix_ms / 1000);
    auto ok = p.verify_deletion(cfg, signed_bytes, now);
    REQUIRE(ok.ok());
    CHECK(ok->user_id == "218471");
    const auto other = with_secrets(cfg, "another-secret");
    auto forged = p.verify_deletion(other, signed_bytes, now);
    REQUIRE_FALSE(forged.ok());
    CHECK(forged.err().code == sb::errc::bad_signature);
  }
  CHECK(with_callback > 0);
}
