#include "privacy/replicas.hpp"

#include <simdjson.h>

#include <string>

#include "core/event.hpp"
#include "privacy/requests.hpp"

namespace sb::privacy {

namespace {

/// Events read per page.
constexpr std::size_t k_page = 512;

/// The consent change a stored event makes, if any; for a `privacy.erased` receipt, `erased`
/// names the subject instead.
std::optional<consent_change> change_of(simdjson::dom::parser& parser,
                                        const store::stored_event& stored,
                                        const config::tenant_config& tenant, std::string& erased) {
  const bool message = stored.type == event_type::message;
  const bool consent = stored.type == event_type::consent_changed;
  const bool erasure = stored.type == event_type::privacy_erased;
  if (!message && !consent && !erasure) {
    return std::nullopt;
  }
  simdjson::dom::object root;
  if (parser.parse(stored.json).get_object().get(root) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  std::string_view text;
  if (erasure) {
    if (root.at_pointer("/privacy/subject").get_string().get(text) == simdjson::SUCCESS) {
      erased.assign(text);
    }
    return std::nullopt;
  }
  if (message) {
    event e;
    e.type = stored.type;
    e.subject = stored.subject;
    if (root.at_pointer("/content/text").get_string().get(text) == simdjson::SUCCESS) {
      e.content.text.assign(text);
    }
    bool echo = false;
    if (root.at_pointer("/content/echo").get_bool().get(echo) == simdjson::SUCCESS) {
      e.content.echo = echo;
    }
    return keyword_change(e, tenant.privacy);
  }
  consent_change c;
  simdjson::dom::object block;
  if (root["consent"].get_object().get(block) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  bool flag = false;
  if (block["purpose"].get_string().get(text) == simdjson::SUCCESS &&
      block["granted"].get_bool().get(flag) == simdjson::SUCCESS) {
    c.purpose_of = parse_purpose(text);
    c.granted = c.purpose_of ? std::optional<bool>(flag) : std::nullopt;
  }
  if (block["opted_out"].get_bool().get(flag) == simdjson::SUCCESS) {
    c.opted_out = flag;
  }
  if (block["restricted"].get_bool().get(flag) == simdjson::SUCCESS) {
    c.restricted = flag;
  }
  if (!c.granted && !c.opted_out && !c.restricted) {
    return std::nullopt;
  }
  return c;
}

}  // namespace

result<followed_commits> follow_commits(
    store::event_log& log, consent_registry& consents, const config::tenant_config& tenant,
    std::uint64_t after, std::uint64_t head,
    const std::function<void(const store::stored_event&)>& each) {
  followed_commits done;
  done.through = after;
  simdjson::dom::parser parser;
  std::string erased;
  while (done.through < head) {
    auto page = log.read(tenant.id, done.through, k_page, {}, head);
    if (!page) {
      if (done.through == after) {
        return page.err();
      }
      return done;
    }
    for (const auto& e : page->events) {
      erased.clear();
      auto change = change_of(parser, e, tenant, erased);
      if (change && !e.subject.empty()) {
        consents.apply_now(tenant.id, e.subject, *change);
        ++done.changes;
      } else if (!erased.empty()) {
        consents.mark_erased(tenant.id, erased, e.seq);
        log.drop_cached(tenant.id);
        ++done.erasures;
      }
      if (each) {
        each(e);
      }
    }
    if (page->next <= done.through) {
      break;  // nothing more below `head` (deleted by retention or an erasure)
    }
    done.through = page->next;
  }
  done.through = std::max(done.through, head);
  return done;
}

}  // namespace sb::privacy
