// The SSE frame renderer behind /v1/stream (`store::share`: the live tail's frames, which every
// stream writes one after the other), fed events whose every platform-controlled field comes
// from the input and which are rendered by the store's JSON renderer, then read back by an
// EventSource parser written from the WHATWG HTML standard ("Interpreting an event stream"), so
// that no text a sender writes can forge, split or merge the events a backend receives.
//
// Input: `<n>\n<kind>\n<name>\n<platform event id>\n<text>` (the text may span lines);
// 1 + n % 3 events are rendered, each with the input's fields.
//
// Properties checked besides memory safety:
// - the frames are valid UTF-8;
// - an EventSource reads back exactly the events rendered: same ids, types and data, in order.

#include <simdjson.h>

#include <string>
#include <vector>

#include "common.hpp"
#include "core/event.hpp"
#include "store/event_log.hpp"

namespace {

using namespace sb;

struct sse_event {
  std::string id;
  std::string type = "message";
  std::string data;
};

/// The event stream interpretation of the HTML standard (9.2.6), for a complete stream: lines
/// end with CRLF, LF or CR; "field: value" with one optional space after the colon; "data"
/// lines are joined with LF; an empty line dispatches; a missing type is "message".
std::vector<sse_event> read_event_stream(std::string_view s) {
  std::vector<sse_event> out;
  sse_event current;
  std::string data;
  bool has_data = false;
  std::string last_id;
  if (s.substr(0, 3) == "\xEF\xBB\xBF") {
    s.remove_prefix(3);
  }
  while (!s.empty()) {
    std::size_t end = s.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      break;  // an unterminated last line is discarded
    }
    std::string_view line = s.substr(0, end);
    std::size_t next = end + 1;
    if (s[end] == '\r' && end + 1 < s.size() && s[end + 1] == '\n') {
      next = end + 2;
    }
    s.remove_prefix(next);
    if (line.empty()) {
      if (has_data) {
        if (!data.empty() && data.back() == '\n') {
          data.pop_back();
        }
        current.data = data;
        current.id = last_id;
        out.push_back(current);
      }
      current = sse_event{};
      data.clear();
      has_data = false;
      continue;
    }
    if (line.front() == ':') {
      continue;
    }
    auto colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
      value = line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
      }
    }
    if (field == "event") {
      current.type = std::string(value);
    } else if (field == "data") {
      data.append(value).push_back('\n');
      has_data = true;
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) {
        last_id = std::string(value);
      }
    }
  }
  return out;
}

const char* const k_types[] = {event_type::message, event_type::reaction, event_type::status,
                               event_type::system, event_type::order};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::fields in(fuzz::as_text(data, size));
  const auto count = in.line();
  const std::string kind(in.line());
  const std::string name(in.line());
  const std::string platform_id(in.line());
  const std::string text(in.rest());

  const std::size_t n = 1 + (count.empty() ? 0 : static_cast<unsigned char>(count[0]) % 3);
  std::vector<store::stored_event> stored;
  for (std::size_t i = 0; i < n; ++i) {
    event e;
    e.id = "evt_01JD000000000000000000000" + std::to_string(i);
    e.seq = (count.size() > 1 ? static_cast<unsigned char>(count[1]) * 1000003ull : 1) + i;
    e.tenant = "acme";
    e.channel = {"wa-main", "whatsapp", "106540352242922"};
    e.type = k_types[(count.size() > 2 ? static_cast<unsigned char>(count[2]) : i) % 5];
    e.kind = kind;
    e.conversation = "wa-main:" + platform_id;
    e.sender = sender_info{platform_id, name, name};
    e.platform_event_id = platform_id;
    e.content.text = text;
    e.content.payload = kind;
    e.status = status_info{kind, platform_id, platform_id, name, text};
    stored.push_back({e.seq, e.type, e.conversation, "", to_json(e)});
  }

  // As a stream writes a batch: each event's shared frame, one after the other.
  std::string frames;
  for (const auto& e : stored) {
    const auto shared = store::share(e);
    fuzz::require(shared->json() == e.json, "the frame does not hold the event's JSON");
    frames += shared->frame;
  }
  fuzz::require(simdjson::validate_utf8(frames.data(), frames.size()),
                "SSE frames are not valid UTF-8");
  const auto events = read_event_stream(frames);
  if (events.size() != stored.size()) {
    fuzz::fail("an EventSource reads " + std::to_string(events.size()) + " events out of " +
               std::to_string(stored.size()) + ":\n" + frames);
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].id != std::to_string(stored[i].seq) || events[i].type != stored[i].type ||
        events[i].data != stored[i].json) {
      fuzz::fail("an EventSource reads another event than was rendered:\n" + frames);
    }
  }
  return 0;
}
