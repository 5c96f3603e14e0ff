// Every adapter of the registry (adapters::all()): verify, the GET handshake, parse, and the
// interpretation of the platform's answer to a send; each parsed event then goes through the
// privacy pass and the JSON renderer, as the channel does before it stores it.
//
// One binary for every platform: SB_FUZZ_ADAPTER=<type> selects the adapter (scripts/fuzz sets
// it; the target is called adapter-<type>), SB_FUZZ_LIST=1 prints the registry's types and
// exits, SB_FUZZ_WRITE_SEEDS=<dir> writes the platform's fixtures (tests/fixtures/<type>/) as
// signed inputs into <dir> and exits. A platform added to the registry is fuzzed without a line
// changed here.
//
// Input: an optional header block, then the raw body.
//   #sb <METHOD> [<raw query>]\n      first line, literally "#sb "
//   <name>: <value>\n                 any number; only the names the adapter lists reach it,
//   \n                                lower-cased, as the server passes them
//   <body>
// Without the block the whole input is the body of a POST without headers.
//
// Parse runs whether or not verify accepted the input: in the gateway parse sees only verified
// bodies, but a harness that had to forge a signature first would never get past it. The seeds
// carry valid signatures, so verify's accepting path is covered too.
//
// Properties checked besides memory safety:
// - parse either succeeds or leaves `out` unchanged (adapter.hpp);
// - events own their strings: the request buffer is freed before the events are read;
// - every event, after `privacy::redact_event`, renders as valid JSON (what subscribers get);
// - the send-answer interpreter gives a positive wait for `rate_limited`.

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "adapters/adapter.hpp"
#include "common.hpp"
#include "core/event.hpp"
#include "privacy/redact.hpp"
#include "unit/adapters/signing.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sb;

struct target {
  const adapters::adapter_info* info = nullptr;
  config::channel_config channel;
  std::unique_ptr<adapters::adapter> adapter;
  std::shared_ptr<const adapters::outbound_channel> outbound;  ///< null: the type cannot send
};

target* the_target = nullptr;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool listed(const adapters::adapter_info& info, const std::string& name) {
  return std::find(info.headers.begin(), info.headers.end(), name) != info.headers.end();
}

std::string contents(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// One fixture as an input of this harness, signed the way the platform signs it.
std::string seed_of(const target& t, const fs::path& file) {
  const std::string body = contents(file);
  std::string out = "#sb POST\n";
  for (const auto& h :
       test::sign_for(t.info->type, t.channel.settings, body, file.filename().string())) {
    out += h.name + ": " + h.value + "\n";
  }
  return out + "\n" + body;
}

/// Writes tests/fixtures/<type>/*.json as signed webhooks, and tests/fixtures/<type>/outbound/
/// (the platform's answers to sends, named `<status>_<what>`) with the status in the query.
void write_seeds(const target& t, const fs::path& out_dir) {
  fs::create_directories(out_dir);
  const fs::path dir = fs::path(SB_FIXTURES_DIR) / t.info->type;
  std::size_t n = 0;
  if (fs::is_directory(dir)) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.is_regular_file() && entry.path().extension() == ".json") {
        std::ofstream(out_dir / entry.path().filename(), std::ios::binary) << seed_of(t, entry);
        ++n;
      }
    }
  }
  if (fs::is_directory(dir / "outbound")) {
    for (const auto& entry : fs::directory_iterator(dir / "outbound")) {
      const auto name = entry.path().filename().string();
      std::ofstream(out_dir / ("answer-" + name), std::ios::binary)
          << "#sb POST " << name.substr(0, 3) << "\n\n"
          << contents(entry.path());
      ++n;
    }
  }
  std::printf("%zu seeds of %s in %s\n", n, t.info->type.c_str(), out_dir.c_str());
}

void check_event(const event& e) {
  const std::string json = to_json(e);
  if (!fuzz::valid_json(json)) {
    fuzz::fail("an event renders as invalid JSON: " + json);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (std::getenv("SB_FUZZ_LIST") != nullptr) {
    for (const auto& a : adapters::all()) {
      std::printf("%s\n", a.type.c_str());
    }
    std::exit(0);
  }
  const char* type = std::getenv("SB_FUZZ_ADAPTER");
  const adapters::adapter_info* info = type == nullptr ? nullptr : adapters::find(type);
  if (info == nullptr) {
    std::fprintf(stderr, "set SB_FUZZ_ADAPTER to one of:");
    for (const auto& a : adapters::all()) {
      std::fprintf(stderr, " %s", a.type.c_str());
    }
    std::fprintf(stderr, "\n");
    std::exit(2);
  }
  the_target = new target;
  the_target->info = info;
  the_target->channel = fuzz::channel_for(*info);
  the_target->adapter = info->make(the_target->channel);
  the_target->outbound = adapters::outbound_for(the_target->channel);
  if (const char* dir = std::getenv("SB_FUZZ_WRITE_SEEDS")) {
    write_seeds(*the_target, dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const target& t = *the_target;
  fuzz::fields in(fuzz::as_text(data, size));

  std::string method = "POST";
  std::string query;
  std::vector<adapters::header> headers;
  std::string_view body = in.rest();
  if (body.substr(0, 4) == "#sb ") {
    auto first = in.line().substr(4);
    auto space = first.find(' ');
    method = std::string(first.substr(0, space));
    if (space != std::string_view::npos) {
      query = std::string(first.substr(space + 1));
    }
    while (!in.empty()) {
      auto line = in.line();
      if (line.empty()) {
        break;
      }
      auto colon = line.find(':');
      if (colon == std::string_view::npos) {
        continue;
      }
      auto name = lower(line.substr(0, colon));
      auto value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      if (listed(*t.info, name)) {
        headers.push_back({std::move(name), std::string(value)});
      }
    }
    body = in.rest();
  }

  // The body in its own heap buffer with the padding the gateway guarantees, freed before the
  // events are read: an event holding a view into the request is a use-after-free.
  auto buffer = std::make_unique<std::string>(fuzz::padded(body));
  adapters::request req;
  req.method = method;
  req.query = query;
  req.headers = &headers;
  req.body = *buffer;

  std::vector<event> events;
  if (method == "GET") {
    auto challenge = t.adapter->handshake(req);
    if (challenge) {
      (void)challenge.value().size();
    }
  } else {
    (void)t.adapter->verify(req);
    auto parsed = t.adapter->parse(req, events);
    if (!parsed) {
      fuzz::require(events.empty(), "a failed parse left events behind");
    }
  }

  // The platform's answer to a send, when the type sends: status and Retry-After from the
  // query field, the answer's body from the body.
  if (t.outbound != nullptr) {
    int status = 0;
    for (char c : query.substr(0, 3)) {
      status = status * 10 + (static_cast<unsigned char>(c) - '0') % 10;
    }
    std::optional<std::string_view> retry_after;
    if (query.size() > 3) {
      retry_after = std::string_view(query).substr(3);
    }
    auto r = t.outbound->interpret(status, *buffer, retry_after);
    if (r.outcome == adapters::send_outcome::rate_limited && r.retry_after_ms <= 0) {
      fuzz::fail("rate_limited without a positive wait");
    }
  }
  buffer.reset();

  // What the channel does before storing: redaction and pseudonymization, then rendering.
  config::privacy_config plain;
  config::privacy_config strict;
  strict.redact_card_numbers = true;
  strict.pseudonymize = true;
  for (auto& e : events) {
    event copy = e;
    privacy::redact_event(copy, plain, "fuzz-tenant-key-0123456789abcdef");
    check_event(copy);
    privacy::redact_event(e, strict, "fuzz-tenant-key-0123456789abcdef");
    check_event(e);
  }
  return 0;
}
