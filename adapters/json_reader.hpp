#pragma once

// Shared by the adapters: reading platform JSON from a fully validated simdjson DOM. Included by
// adapter .cpp files only (simdjson stays out of adapter.hpp).

#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb::adapters {

namespace dom = simdjson::dom;

/// Reads members of a fully validated DOM under one rule: a member that is absent or `null` is
/// absent; a member of another type than expected makes the body malformed. The first problem is
/// kept for the error message; reading goes on harmlessly after it.
class shape_reader {
 public:
  std::optional<dom::object> object(dom::object o, std::string_view key) {
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

  std::optional<dom::array> array(dom::object o, std::string_view key) {
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

  std::string string(dom::object o, std::string_view key) {
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

  /// An integer (ids, counts) rendered exactly as text: never through a double, so ids above
  /// 2^53 survive. "" when absent.
  std::string id(dom::object o, std::string_view key) {
    auto el = member(o, key);
    if (!el) {
      return {};
    }
    return id_of(*el, key);
  }

  std::string id_of(dom::element el, std::string_view key) {
    char buf[24];
    std::int64_t i = 0;
    std::uint64_t u = 0;
    if (el.get_int64().get(i) == simdjson::SUCCESS) {
      return std::string(buf, std::to_chars(buf, buf + sizeof buf, i).ptr);
    }
    if (el.get_uint64().get(u) == simdjson::SUCCESS) {
      return std::string(buf, std::to_chars(buf, buf + sizeof buf, u).ptr);
    }
    wrong_type(key, "an integer");
    return {};
  }

  std::optional<std::int64_t> int64(dom::object o, std::string_view key) {
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

  std::optional<double> number(dom::object o, std::string_view key) {
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

  /// Records `what` as missing unless `present`.
  void require(bool present, std::string_view what) {
    if (!present && problem_.empty()) {
      problem_ = "missing ";
      problem_ += what;
    }
  }

  void wrong_type(std::string_view key, const char* expected) {
    if (problem_.empty()) {
      problem_ = "\"";
      problem_ += key;
      problem_ += "\" must be ";
      problem_ += expected;
    }
  }

  bool ok() const { return problem_.empty(); }
  const std::string& problem() const { return problem_; }

 private:
  static std::optional<dom::element> member(dom::object o, std::string_view key) {
    dom::element el;
    if (o.at_key(key).get(el) != simdjson::SUCCESS || el.is_null()) {
      return std::nullopt;
    }
    return el;
  }

  std::string problem_;
};

}  // namespace sb::adapters
