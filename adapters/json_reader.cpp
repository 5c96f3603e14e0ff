#include "adapters/json_reader.hpp"

#include <charconv>
#include <utility>

#include "core/crypto.hpp"

namespace sb::adapters {

namespace {

template <class Int>
std::string decimal(Int v) {
  char buf[24];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

}  // namespace

result<dom::element> parse_body(dom::parser& parser, const request& req) {
  dom::element root;
  if (auto err = parser.parse(req.body.data(), req.body.size(), false).get(root); err) {
    return error{errc::malformed_body,
                 std::string("not valid JSON (") + simdjson::error_message(err) + ")"};
  }
  return root;
}

std::optional<dom::object> parse_object(dom::parser& parser, std::string_view text) {
  dom::element root;
  dom::object o;
  if (parser.parse(text.data(), text.size()).get(root) != simdjson::SUCCESS ||
      root.get_object().get(o) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return o;
}

std::optional<dom::element> member(dom::object o, std::string_view key) {
  dom::element el;
  if (o.at_key(key).get(el) != simdjson::SUCCESS || el.is_null()) {
    return std::nullopt;
  }
  return el;
}

std::optional<std::string> integer_text(dom::element el) {
  std::int64_t i = 0;
  std::uint64_t u = 0;
  if (el.get_int64().get(i) == simdjson::SUCCESS) {
    return decimal(i);
  }
  if (el.get_uint64().get(u) == simdjson::SUCCESS) {
    return decimal(u);
  }
  return std::nullopt;
}

std::string json_digest(dom::element e) {
  return crypto::to_hex(crypto::sha256(simdjson::minify(e)));
}

std::string join_name(const std::string& first, const std::string& last) {
  if (first.empty()) {
    return last;
  }
  if (last.empty()) {
    return first;
  }
  return first + " " + last;
}

// ---------------------------------------------------------------------------------------------
// shape_reader: strict.

std::optional<dom::object> shape_reader::object(dom::object o, std::string_view key) {
  auto el = member(o, key);
  if (!el) {
    return std::nullopt;
  }
  dom::object out;
  if (el->get_object().get(out) != simdjson::SUCCESS) {
    wrong_type(key, "an object");
    return std::nullopt;
  }
  return out;
}

std::optional<dom::array> shape_reader::array(dom::object o, std::string_view key) {
  auto el = member(o, key);
  if (!el) {
    return std::nullopt;
  }
  dom::array out;
  if (el->get_array().get(out) != simdjson::SUCCESS) {
    wrong_type(key, "an array");
    return std::nullopt;
  }
  return out;
}

std::optional<dom::object> shape_reader::as_object(dom::element e, std::string_view what) {
  dom::object out;
  if (e.get_object().get(out) != simdjson::SUCCESS) {
    fail("every item of " + quoted(what) + " must be an object");
    return std::nullopt;
  }
  return out;
}

std::string shape_reader::string(dom::object o, std::string_view key) {
  auto el = member(o, key);
  if (!el) {
    return {};
  }
  std::string_view out;
  if (el->get_string().get(out) != simdjson::SUCCESS) {
    wrong_type(key, "a string");
    return {};
  }
  return std::string(out);
}

std::string shape_reader::id(dom::object o, std::string_view key) {
  auto el = member(o, key);
  if (!el) {
    return {};
  }
  return id_of(*el, key);
}

std::string shape_reader::id_of(dom::element el, std::string_view key) {
  if (auto text = integer_text(el)) {
    return std::move(*text);
  }
  wrong_type(key, "an integer");
  return {};
}

std::optional<std::int64_t> shape_reader::int64(dom::object o, std::string_view key) {
  auto el = member(o, key);
  if (!el) {
    return std::nullopt;
  }
  std::int64_t out = 0;
  if (el->get_int64().get(out) != simdjson::SUCCESS) {
    wrong_type(key, "an integer");
    return std::nullopt;
  }
  return out;
}

std::optional<double> shape_reader::number(dom::object o, std::string_view key) {
  auto el = member(o, key);
  if (!el) {
    return std::nullopt;
  }
  double out = 0;
  if (el->get_double().get(out) != simdjson::SUCCESS) {
    wrong_type(key, "a number");
    return std::nullopt;
  }
  return out;
}

void shape_reader::require(bool present, std::string_view what) {
  if (!present) {
    fail("missing " + std::string(what));
  }
}

void shape_reader::wrong_type(std::string_view key, std::string_view expected) {
  fail(quoted(key) + " must be " + std::string(expected));
}

void shape_reader::fail(std::string what) {
  if (problem_.empty()) {
    problem_ = std::move(what);
  }
}

std::string shape_reader::quoted(std::string_view key) const {
  std::string out(1, quote_);
  out += key;
  out += quote_;
  return out;
}

// ---------------------------------------------------------------------------------------------
// lenient: scalars of an unexpected type are absent.

namespace lenient {

std::string text(dom::object o, std::string_view key) {
  auto el = member(o, key);
  if (!el) {
    return {};
  }
  std::string_view s;
  if (el->get_string().get(s) == simdjson::SUCCESS) {
    return std::string(s);
  }
  return integer_text(*el).value_or(std::string{});
}

std::string number_text(dom::object o, std::string_view key) {
  auto el = member(o, key);
  if (el && el->type() == dom::element_type::DOUBLE) {
    double d = 0;
    if (el->get_double().get(d) != simdjson::SUCCESS) {
      return {};
    }
    char buf[40];
    auto r = std::to_chars(buf, buf + sizeof buf, d);  // shortest round-trip form
    return std::string(buf, r.ptr);
  }
  return text(o, key);
}

bool flag(dom::object o, std::string_view key) {
  auto el = member(o, key);
  bool b = false;
  return el && el->get_bool().get(b) == simdjson::SUCCESS && b;
}

std::optional<double> number(dom::object o, std::string_view key) {
  auto el = member(o, key);
  double d = 0;
  if (el && el->is_number() && el->get_double().get(d) == simdjson::SUCCESS) {
    return d;
  }
  return std::nullopt;
}

timestamp unix_time(dom::object o, std::string_view key) {
  auto el = member(o, key);
  if (!el || el->type() == dom::element_type::DOUBLE) {
    return {};
  }
  if (auto t = parse_unix_auto(text(o, key))) {
    return *t;
  }
  return {};
}

}  // namespace lenient

}  // namespace sb::adapters
