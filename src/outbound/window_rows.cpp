#include "outbound/window_rows.hpp"

#include <simdjson.h>

#include <algorithm>
#include <unordered_map>

#include "core/conversation_key.hpp"
#include "outbound/conversation_state.hpp"

namespace sb::outbound {

namespace {

/// Events read from the log per repair page (one outbox batch each).
constexpr std::size_t k_repair_page = 512;

}  // namespace

std::vector<store::outbox_write> window_writes(const std::string& tenant, bool pseudonymous,
                                               const std::vector<event>& events) {
  std::vector<store::outbox_write> writes;
  std::unordered_map<std::string_view, std::size_t> index;  // conversation -> its write
  std::uint64_t head = 0;
  for (const auto& e : events) {
    head = std::max(head, e.seq);
    if (e.conversation.empty() || !opens_window(e)) {
      continue;
    }
    const std::int64_t at = window_time(e).unix_ms;
    if (at <= 0) {
      continue;
    }
    auto [it, inserted] = index.emplace(e.conversation, writes.size());
    if (!inserted) {
      auto& w = writes[it->second];
      w.at_ms = std::max(w.at_ms, at);
      continue;
    }
    store::outbox_write w;
    w.what = store::outbox_write::kind::last_inbound;
    w.tenant = tenant;
    w.conversation = e.conversation;
    w.at_ms = at;
    w.subject = e.subject;
    if (pseudonymous && !e.peer.empty() &&
        e.conversation != conversation_key::format(e.channel.name, e.peer)) {
      w.peer = e.peer;
    }
    writes.push_back(std::move(w));
  }
  if (head > 0) {
    store::outbox_write w;
    w.what = store::outbox_write::kind::window_head;
    w.tenant = tenant;
    w.seq = head;
    writes.push_back(std::move(w));
  }
  return writes;
}

namespace {

/// `window_facts` with the caller's parser (one per repair, not one per event).
bool facts_with(simdjson::dom::parser& parser, const store::stored_event& stored, event& out) {
  out.seq = stored.seq;
  out.type = stored.type;
  out.conversation = stored.conversation;
  out.subject = stored.subject;
  out.occurred_at = {};
  out.received_at = {};
  out.content.echo = false;
  simdjson::dom::object root;
  if (parser.parse(stored.json).get_object().get(root) != simdjson::SUCCESS) {
    return false;
  }
  std::string_view text;
  if (root["occurred_at"].get_string().get(text) == simdjson::SUCCESS) {
    out.occurred_at = parse_rfc3339(text).value_or(timestamp{});
  }
  if (root["received_at"].get_string().get(text) == simdjson::SUCCESS) {
    out.received_at = parse_rfc3339(text).value_or(timestamp{});
  }
  bool echo = false;
  if (root.at_pointer("/content/echo").get_bool().get(echo) == simdjson::SUCCESS) {
    out.content.echo = echo;
  }
  return true;
}

}  // namespace

bool window_facts(const store::stored_event& stored, event& out) {
  simdjson::dom::parser parser;
  return facts_with(parser, stored, out);
}

result<window_repair> repair_windows(store::event_log& log, store::outbox& box,
                                     const std::string& tenant) {
  auto head = box.window_head(tenant);
  if (!head) {
    return head.err();
  }
  window_repair done;
  const std::uint64_t log_head = log.head(tenant);
  if (!head.value()) {
    // No head yet: the rows were synced by an earlier version, or the tenant had no sendable
    // channel. Record where they start, synced, so a power cut cannot take that away.
    std::vector<store::outbox_write> writes(1);
    writes[0].what = store::outbox_write::kind::window_head;
    writes[0].tenant = tenant;
    writes[0].seq = log_head;
    writes[0].synced = true;
    if (auto st = box.apply(writes); !st) {
      return st.err();
    }
    done.to = log_head;
    return done;
  }
  done.from = *head.value();
  std::uint64_t after = done.from;
  simdjson::dom::parser parser;
  while (after < log_head) {
    auto page = log.read(tenant, after, k_repair_page, {});
    if (!page) {
      return page.err();
    }
    if (page.value().next <= after) {
      break;  // the log examined nothing more (not below its head; never spin)
    }
    std::vector<event> events;
    events.reserve(page.value().events.size());
    for (const auto& stored : page.value().events) {
      event e;
      if (facts_with(parser, stored, e)) {
        events.push_back(std::move(e));
      }
    }
    done.events += page.value().events.size();
    after = page.value().next;
    // Peers are not in the log: a pseudonymous conversation's peer stays as it was stored.
    auto writes = window_writes(tenant, false, events);
    if (writes.empty() || writes.back().what != store::outbox_write::kind::window_head) {
      writes.emplace_back();  // a page of erased or expired events still moves the head
      writes.back().what = store::outbox_write::kind::window_head;
      writes.back().tenant = tenant;
    }
    writes.back().seq = after;
    done.rows += writes.size() - 1;
    if (auto st = box.apply(writes); !st) {
      return st.err();
    }
  }
  done.to = after;
  return done;
}

}  // namespace sb::outbound
