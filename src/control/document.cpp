#include "control/document.hpp"

#include <simdjson.h>

#include <algorithm>
#include <utility>

#include "core/json.hpp"
#include "core/time.hpp"

namespace sb::control {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

/// Parses `text` (copied into a padded buffer that lives as long as the parser's document).
struct parsed {
  explicit parsed(std::string_view text) : buf(text) {
    ok = parser.parse(buf).get(root) == simdjson::SUCCESS;
  }
  simdjson::padded_string buf;
  simdjson::dom::parser parser;
  element root;
  bool ok = false;
};

std::string text_of(element e) {
  return simdjson::minify(e);
}

/// `e` as an object (empty when it is not one).
simdjson::dom::object obj(element e) {
  simdjson::dom::object o;
  if (e.get(o) != simdjson::SUCCESS) {
    return {};
  }
  return o;
}

void merge_into(json::writer& w, std::optional<element> target, element patch) {
  if (patch.type() != element_type::OBJECT) {
    w.raw(text_of(patch));
    return;
  }
  auto patch_obj = obj(patch);
  w.begin_object();
  if (target && target->type() == element_type::OBJECT) {
    for (auto field : obj(*target)) {
      element p;
      if (patch_obj.at_key(field.key).get(p) == simdjson::SUCCESS) {
        if (p.type() == element_type::NULL_VALUE) {
          continue;  // removed
        }
        w.key(field.key);
        merge_into(w, field.value, p);
      } else {
        w.key(field.key).raw(text_of(field.value));
      }
    }
  }
  for (auto field : patch_obj) {
    element t;
    if (target && target->type() == element_type::OBJECT &&
        obj(*target).at_key(field.key).get(t) == simdjson::SUCCESS) {
      continue;  // merged above
    }
    if (field.value.type() == element_type::NULL_VALUE) {
      continue;
    }
    w.key(field.key);
    merge_into(w, std::nullopt, field.value);
  }
  w.end_object();
}

std::int64_t int_of(element e, std::string_view key) {
  std::int64_t v = 0;
  if (e[key].get(v) != simdjson::SUCCESS) {
    return 0;
  }
  return v;
}

std::map<std::string, std::int64_t> times_of(element e, std::string_view key) {
  std::map<std::string, std::int64_t> out;
  simdjson::dom::object o;
  if (e[key].get(o) == simdjson::SUCCESS) {
    for (auto f : o) {
      std::int64_t v = 0;
      if (f.value.get(v) == simdjson::SUCCESS) {
        out.emplace(std::string(f.key), v);
      }
    }
  }
  return out;
}

void write_times(json::writer& w, std::string_view key,
                 const std::map<std::string, std::int64_t>& times) {
  w.key(key).begin_object();
  for (const auto& [k, v] : times) {
    w.key(k).value(v);
  }
  w.end_object();
}

/// A secret's marker: {"set":true,"set_at":"…"}.
void write_marker(json::writer& w, std::int64_t set_at_ms) {
  w.begin_object().key("set").value(true);
  if (set_at_ms > 0) {
    w.key("set_at").value(rfc3339(set_at_ms));
  }
  w.end_object();
}

}  // namespace

std::string rfc3339(std::int64_t unix_ms) {
  return to_rfc3339(timestamp::from_millis(unix_ms));
}

std::string merge_patch(std::string_view target, std::string_view patch) {
  parsed p(patch);
  if (!p.ok) {
    return std::string(target);
  }
  std::string out;
  json::writer w(out);
  if (target.empty()) {
    merge_into(w, std::nullopt, p.root);
    return out;
  }
  parsed t(target);
  merge_into(w, t.ok ? std::optional<element>(t.root) : std::nullopt, p.root);
  return out;
}

std::optional<std::string> member(std::string_view object, std::string_view name) {
  parsed p(object);
  element e;
  if (!p.ok || p.root.type() != element_type::OBJECT ||
      obj(p.root).at_key(name).get(e) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return text_of(e);
}

std::optional<std::string> string_member(std::string_view object, std::string_view name) {
  parsed p(object);
  std::string_view s;
  if (!p.ok || p.root.type() != element_type::OBJECT ||
      obj(p.root).at_key(name).get(s) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return std::string(s);
}

std::vector<std::string> member_names(std::string_view object) {
  std::vector<std::string> out;
  parsed p(object);
  if (!p.ok || p.root.type() != element_type::OBJECT) {
    return out;
  }
  for (auto f : obj(p.root)) {
    out.emplace_back(f.key);
  }
  return out;
}

bool is_object(std::string_view text) {
  parsed p(text);
  return p.ok && p.root.type() == element_type::OBJECT;
}

channel_entry* tenant_document::find_channel(const std::string& name) {
  for (auto& c : channels) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

subscriber_entry* tenant_document::find_subscriber(const std::string& name) {
  for (auto& s : subscribers) {
    if (s.name == name) {
      return &s;
    }
  }
  return nullptr;
}

std::string to_json(const tenant_document& d) {
  std::string out;
  json::writer w(out);
  w.begin_object().key("v").value(1).key("id").value(d.id).key("body").raw(d.body);
  w.key("channels").begin_array();
  for (const auto& c : d.channels) {
    w.begin_object().key("name").value(c.name).key("body").raw(c.body);
    write_times(w, "secret_set_at", c.secret_set_at);
    write_times(w, "previous_until", c.previous_until);
    w.end_object();
  }
  w.end_array().key("subscribers").begin_array();
  for (const auto& s : d.subscribers) {
    w.begin_object().key("name").value(s.name).key("body").raw(s.body);
    w.key("created_at_ms").value(s.created_at_ms).key("token_set_at_ms").value(s.token_set_at_ms);
    w.end_object();
  }
  w.end_array().key("former_channels").begin_array();
  for (const auto& f : d.former_channels) {
    w.value(f);
  }
  w.end_array();
  w.key("created_at_ms").value(d.created_at_ms).key("updated_at_ms").value(d.updated_at_ms);
  if (!d.imported_from.empty()) {
    w.key("imported_from").value(d.imported_from);
  }
  w.end_object();
  return out;
}

result<tenant_document> parse_document(std::string_view json) {
  parsed p(json);
  auto bad = [](const std::string& what) {
    return error{errc::internal, "a stored control-plane document is unreadable: " + what};
  };
  if (!p.ok || p.root.type() != element_type::OBJECT) {
    return bad("not a JSON object");
  }
  tenant_document d;
  std::int64_t version = 0;
  std::string_view id;
  element body;
  if (p.root["v"].get(version) != simdjson::SUCCESS || version != 1 ||
      p.root["id"].get(id) != simdjson::SUCCESS || p.root["body"].get(body) != simdjson::SUCCESS) {
    return bad("no version 1, id or body");
  }
  d.id = std::string(id);
  d.body = text_of(body);
  simdjson::dom::array arr;
  if (p.root["channels"].get(arr) == simdjson::SUCCESS) {
    for (element c : arr) {
      channel_entry e;
      std::string_view name;
      element b;
      if (c["name"].get(name) != simdjson::SUCCESS || c["body"].get(b) != simdjson::SUCCESS) {
        return bad("a channel of tenant '" + d.id + "' has no name or body");
      }
      e.name = std::string(name);
      e.body = text_of(b);
      e.secret_set_at = times_of(c, "secret_set_at");
      e.previous_until = times_of(c, "previous_until");
      d.channels.push_back(std::move(e));
    }
  }
  if (p.root["subscribers"].get(arr) == simdjson::SUCCESS) {
    for (element s : arr) {
      subscriber_entry e;
      std::string_view name;
      element b;
      if (s["name"].get(name) != simdjson::SUCCESS || s["body"].get(b) != simdjson::SUCCESS) {
        return bad("a subscriber of tenant '" + d.id + "' has no name or body");
      }
      e.name = std::string(name);
      e.body = text_of(b);
      e.created_at_ms = int_of(s, "created_at_ms");
      e.token_set_at_ms = int_of(s, "token_set_at_ms");
      d.subscribers.push_back(std::move(e));
    }
  }
  if (p.root["former_channels"].get(arr) == simdjson::SUCCESS) {
    for (element f : arr) {
      std::string_view name;
      if (f.get(name) == simdjson::SUCCESS) {
        d.former_channels.emplace_back(name);
      }
    }
  }
  d.created_at_ms = int_of(p.root, "created_at_ms");
  d.updated_at_ms = int_of(p.root, "updated_at_ms");
  if (std::string_view from; p.root["imported_from"].get(from) == simdjson::SUCCESS) {
    d.imported_from = std::string(from);
  }
  return d;
}

tenant_document imported_document(std::string_view object,
                                  const std::vector<config::channel_schema>& schemas,
                                  std::int64_t now_ms, std::int64_t grace_ms, std::string source) {
  parsed p(object);
  tenant_document d;
  d.created_at_ms = now_ms;
  d.updated_at_ms = now_ms;
  d.imported_from = std::move(source);
  std::string own;
  json::writer w(own);
  w.begin_object();
  for (auto field : obj(p.root)) {
    if (field.key == "channels" || field.key == "subscribers") {
      continue;
    }
    w.key(field.key).raw(text_of(field.value));
  }
  w.end_object();
  d.body = std::move(own);
  if (std::string_view id; p.root["id"].get(id) == simdjson::SUCCESS) {
    d.id = std::string(id);
  }
  simdjson::dom::array arr;
  if (p.root["channels"].get(arr) == simdjson::SUCCESS) {
    for (element c : arr) {
      channel_entry e;
      e.body = text_of(c);
      e.name = string_member(e.body, "name").value_or("");
      for (const auto& key :
           writable_secrets(schemas, string_member(e.body, "type").value_or(""))) {
        if (member(e.body, key)) {
          e.secret_set_at[key] = now_ms;
        }
        if (member(e.body, key + config::k_previous_suffix)) {
          e.previous_until[key] = now_ms + grace_ms;
        }
      }
      d.channels.push_back(std::move(e));
    }
  }
  if (p.root["subscribers"].get(arr) == simdjson::SUCCESS) {
    for (element s : arr) {
      subscriber_entry e;
      e.body = text_of(s);
      e.name = string_member(e.body, "name").value_or("");
      e.created_at_ms = now_ms;
      e.token_set_at_ms = member(e.body, "token_sha256") ? now_ms : 0;
      d.subscribers.push_back(std::move(e));
    }
  }
  return d;
}

std::string tenant_json(const tenant_document& d, std::int64_t now_ms) {
  std::string lists;
  json::writer w(lists);
  w.begin_object().key("channels").begin_array();
  for (const auto& c : d.channels) {
    std::string body = c.body;
    for (const auto& [key, until] : c.previous_until) {
      if (until <= now_ms) {
        body = merge_patch(body, "{\"" + key + config::k_previous_suffix + "\":null}");
      }
    }
    w.raw(body);
  }
  w.end_array().key("subscribers").begin_array();
  for (const auto& s : d.subscribers) {
    w.raw(s.body);
  }
  w.end_array().end_object();
  return merge_patch(d.body, lists);
}

std::optional<std::int64_t> next_grace_end(const tenant_document& d, std::int64_t now_ms) {
  std::optional<std::int64_t> next;
  for (const auto& c : d.channels) {
    for (const auto& [key, until] : c.previous_until) {
      if (until > now_ms && (!next || until < *next)) {
        next = until;
      }
    }
  }
  return next;
}

std::vector<std::string> writable_secrets(const std::vector<config::channel_schema>& schemas,
                                          const std::string& type) {
  std::vector<std::string> out;
  for (const auto& s : schemas) {
    if (s.type != type) {
      continue;
    }
    for (const auto& spec : s.settings) {
      if (spec.secret && !spec.derived) {
        out.push_back(spec.key);
      }
    }
  }
  return out;
}

std::string redacted_channel(const channel_entry& c,
                             const std::vector<config::channel_schema>& schemas) {
  parsed p(c.body);
  std::string out;
  json::writer w(out);
  w.begin_object();
  if (p.ok && p.root.type() == element_type::OBJECT) {
    std::string type;
    if (std::string_view t; p.root["type"].get(t) == simdjson::SUCCESS) {
      type = std::string(t);
    }
    const auto secrets = writable_secrets(schemas, type);
    auto is_secret = [&](std::string_view key) {
      return std::find(secrets.begin(), secrets.end(), key) != secrets.end();
    };
    for (auto f : obj(p.root)) {
      const std::string key(f.key);
      if (config::is_previous_key(key)) {
        continue;
      }
      w.key(key);
      if (is_secret(key)) {
        auto at = c.secret_set_at.find(key);
        w.begin_object().key("set").value(true);
        if (at != c.secret_set_at.end()) {
          w.key("set_at").value(rfc3339(at->second));
        }
        if (auto until = c.previous_until.find(key); until != c.previous_until.end()) {
          w.key("previous_until").value(rfc3339(until->second));
        }
        w.end_object();
      } else {
        w.raw(text_of(f.value));
      }
    }
  }
  w.end_object();
  return out;
}

std::string redacted_subscriber(const subscriber_entry& s) {
  parsed p(s.body);
  std::string out;
  json::writer w(out);
  w.begin_object();
  if (p.ok && p.root.type() == element_type::OBJECT) {
    for (auto f : obj(p.root)) {
      if (f.key == "token_sha256") {
        w.key("token");
        write_marker(w, s.token_set_at_ms);
        continue;
      }
      w.key(f.key);
      if (f.key == "push" && f.value.type() == element_type::OBJECT) {
        w.begin_object();
        for (auto g : obj(f.value)) {
          w.key(g.key);
          if (g.key == "secret" || g.key == "secret_previous") {
            write_marker(w, 0);
          } else {
            w.raw(text_of(g.value));
          }
        }
        w.end_object();
      } else {
        w.raw(text_of(f.value));
      }
    }
  }
  if (s.created_at_ms > 0) {
    w.key("created_at").value(rfc3339(s.created_at_ms));
  }
  w.end_object();
  return out;
}

}  // namespace sb::control
