// CAF-free (actors/visitor_stream_logic.hpp): unit tests reach it without an actor system.
#include "actors/visitor_stream_logic.hpp"

#include <simdjson.h>

#include "core/event.hpp"
#include "core/json.hpp"

namespace sb::actors {

namespace {

// Fields of the stored JSON a visitor never sees: the subject is the gateway's pseudonym of the
// person (a join key across channels), the tenant its customer's internal id.
bool hidden_field(std::string_view key) { return key == "subject" || key == "tenant"; }

}  // namespace

std::optional<visitor_item> visitor_view(const store::stored_event& e,
                                         std::string_view conversation) {
  if (e.type != event_type::message || e.conversation != conversation) {
    return std::nullopt;
  }
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object root;
  if (parser.parse(e.json).get(root) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  visitor_item item;
  std::string json;
  json.reserve(e.json.size());
  json.push_back('{');
  bool first = true;
  for (auto field : root) {
    if (hidden_field(field.key)) {
      continue;
    }
    if (!first) {
      json.push_back(',');
    }
    first = false;
    json::append_string(json, field.key);
    json.push_back(':');
    json += simdjson::minify(field.value);
    if (field.key == "id") {
      std::string_view id;
      if (field.value.get_string().get(id) == simdjson::SUCCESS) {
        item.id = std::string(id);
      }
    } else if (field.key == "content") {
      bool echo = false;
      if (field.value["echo"].get_bool().get(echo) == simdjson::SUCCESS) {
        item.agent = echo;
      }
    }
  }
  json.push_back('}');
  auto frame = std::make_shared<store::shared_event>();
  frame->seq = e.seq;
  frame->type = e.type;
  frame->conversation = e.conversation;
  frame->frame = "id: " + std::to_string(e.seq) + "\nevent: message\ndata: ";
  frame->json_at = frame->frame.size();
  frame->json_size = json.size();
  frame->frame += json;
  frame->frame += "\n\n";
  item.frame = std::move(frame);
  return item;
}

visitor_page read_visitor_page(store::privacy_store& ps, const std::string& tenant,
                               const std::string& subject, const std::string& conversation,
                               std::uint64_t after, std::uint64_t upto, std::size_t limit) {
  visitor_page page;
  page.next = after;
  if (after >= upto) {
    return page;
  }
  auto r = ps.subject_events_after(tenant, subject, after, limit);
  if (!r) {
    page.failed = true;
    page.error = r.err().message;
    return page;
  }
  const auto& events = r.value();
  bool reached = events.size() < limit;  // nothing more of the subject after these
  for (const auto& e : events) {
    if (e.seq > upto) {
      reached = true;  // not announced yet: read again once it is
      break;
    }
    page.next = e.seq;
    if (auto item = visitor_view(e, conversation)) {
      page.items.push_back(std::move(*item));
    }
  }
  if (reached) {
    page.next = upto;
  }
  return page;
}

}  // namespace sb::actors
