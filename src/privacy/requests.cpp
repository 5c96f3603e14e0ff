#include "privacy/requests.hpp"

#include <simdjson.h>

namespace sb::privacy {

namespace {

error bad(std::string message) {
  return error{errc::bad_request, std::move(message)};
}

std::string known_purposes() {
  std::string s;
  for (auto p : all_purposes) {
    s += s.empty() ? "" : ", ";
    s += to_string(p);
  }
  return s;
}

/// Parses `body` as one JSON object; the parser must outlive the object.
result<simdjson::dom::object> object_of(simdjson::dom::parser& parser, std::string_view body,
                                        const char* shape) {
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) {
    return bad(std::string("the body is not valid JSON; expected ") + shape);
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return bad(std::string("the body must be a JSON object: ") + shape);
  }
  return object;
}

}  // namespace

result<consent_change> parse_consent_body(std::string_view body) {
  constexpr const char* shape = R"({"purpose":"marketing","granted":false})";
  simdjson::dom::parser parser;
  auto object = object_of(parser, body, shape);
  if (!object) {
    return object.err();
  }
  consent_change c;
  for (auto field : *object) {
    if (field.key == "purpose") {
      if (c.purpose_of) {
        return bad("member 'purpose' is given twice");
      }
      std::string_view name;
      if (field.value.get_string().get(name) != simdjson::SUCCESS) {
        return bad("member 'purpose' must be a string: one of " + known_purposes());
      }
      auto p = parse_purpose(name);
      if (!p) {
        return bad("member 'purpose': unknown purpose \"" + std::string(name) +
                   "\"; known purposes: " + known_purposes());
      }
      c.purpose_of = *p;
    } else if (field.key == "granted") {
      if (c.granted) {
        return bad("member 'granted' is given twice");
      }
      bool granted = false;
      if (field.value.get_bool().get(granted) != simdjson::SUCCESS) {
        return bad("member 'granted' must be true or false");
      }
      c.granted = granted;
    } else {
      return bad("unknown member '" + std::string(field.key) + "'; expected " + shape);
    }
  }
  if (!c.purpose_of) {
    return bad(std::string("member 'purpose' is missing; expected ") + shape);
  }
  if (!c.granted) {
    return bad(std::string("member 'granted' is missing; expected ") + shape);
  }
  return c;
}

result<consent_change> parse_restrict_body(std::string_view body) {
  constexpr const char* shape = R"({"restricted":true})";
  simdjson::dom::parser parser;
  auto object = object_of(parser, body, shape);
  if (!object) {
    return object.err();
  }
  consent_change c;
  for (auto field : *object) {
    if (field.key == "restricted") {
      if (c.restricted) {
        return bad("member 'restricted' is given twice");
      }
      bool restricted = false;
      if (field.value.get_bool().get(restricted) != simdjson::SUCCESS) {
        return bad("member 'restricted' must be true or false");
      }
      c.restricted = restricted;
    } else {
      return bad("unknown member '" + std::string(field.key) + "'; expected " + shape);
    }
  }
  if (!c.restricted) {
    return bad(std::string("member 'restricted' is missing; expected ") + shape);
  }
  return c;
}

std::optional<consent_change> keyword_change(const event& e, const config::privacy_config& p) {
  if (e.type != event_type::message || e.content.echo || e.subject.empty() ||
      e.content.text.empty()) {
    return std::nullopt;
  }
  const auto k = match_keyword(p, e.content.text);
  if (k == keyword::none) {
    return std::nullopt;
  }
  consent_change c;
  c.purpose_of = purpose::marketing;
  c.granted = k == keyword::opt_in;
  c.opted_out = k == keyword::opt_out;
  return c;
}

consent_info to_info(const consent_change& c, std::string source) {
  consent_info info;
  if (c.purpose_of && c.granted) {
    info.purpose = to_string(*c.purpose_of);
    info.granted = c.granted;
  }
  info.opted_out = c.opted_out;
  info.restricted = c.restricted;
  info.source = std::move(source);
  return info;
}

std::string audit_detail(const consent_change& c) {
  std::string d;
  auto add = [&](const std::string& kv) {
    d += d.empty() ? "" : " ";
    d += kv;
  };
  auto text = [](bool b) { return b ? std::string("true") : std::string("false"); };
  if (c.purpose_of && c.granted) {
    add(std::string("purpose=") + to_string(*c.purpose_of));
    add("granted=" + text(*c.granted));
  }
  if (c.opted_out) {
    add("opted_out=" + text(*c.opted_out));
  }
  if (c.restricted) {
    add("restricted=" + text(*c.restricted));
  }
  return d;
}

}  // namespace sb::privacy
