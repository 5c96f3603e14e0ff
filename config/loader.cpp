#include "config/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto.hpp"
#include "core/ip.hpp"
#include "core/json.hpp"

// The loader is table driven: every section is a `section<T>` listing its keys once, each with
// its name, default (read from the struct's initializer, so it is never written twice),
// accepted values, description and parser. The same tables produce `declared_keys()`.
namespace sb::config {

namespace {

// -- Problems ------------------------------------------------------------------------------

/// Where a value sits: its node, its key path and the 1-based line to report it on.
struct item {
  YAML::Node node;
  std::string path;
  int line = 1;
};

struct problem {
  int line;
  std::string text;     ///< "<source>:<line>: <path>: <message>", as the file reports it
  std::string path;     ///< the key path alone, for an API body's JSON pointer
  std::string message;  ///< the message alone
};

struct token_owner {
  /// Who holds the token: the key path of a subscriber or operator of the text being read, or
  /// (line 0) one of the running config's, described ("subscriber 'desk' of tenant 'acme'").
  std::string subscriber;
  int line;  ///< 0: not in the text being read
};

struct context {
  std::string source;
  const std::vector<channel_schema>* schemas = nullptr;
  std::vector<problem> problems;
  std::map<std::string, token_owner> tokens;  ///< token_sha256 -> first subscriber, all tenants
  /// `${VAR}` reads the environment (the file); false for an API body, which must not read the
  /// gateway's environment: a reference there is a problem (`expand`).
  bool read_env = true;
  /// An API body's: the ids and tokens the running config holds already.
  const claims* taken = nullptr;

  void report(int line, const std::string& path, const std::string& text) {
    std::string msg = source + ":" + std::to_string(line) + ": ";
    if (!path.empty()) {
      msg += path + ": ";
    }
    problems.push_back({line, msg + text, path, text});
  }
  void report(const item& it, const std::string& text) { report(it.line, it.path, text); }
};

int line_of(const YAML::Node& n, int fallback) {
  const auto mark = n.Mark();
  return mark.line >= 0 ? mark.line + 1 : fallback;
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string join_list(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    out += (out.empty() ? "" : ", ") + w;
  }
  return out.empty() ? "(none)" : out;
}

/// A non-secret value quoted for a message, cut short when long.
std::string quote(const std::string& value) {
  constexpr std::size_t max = 40;
  return "'" + (value.size() <= max ? value : value.substr(0, max) + "...") + "'";
}


/// "unknown key" with the closest known key, or the list of known keys. `scope` qualifies the
/// key set (" for channel type whatsapp").
std::string unknown_key_problem(const std::string& key, const std::vector<std::string>& known,
                                const std::string& scope = "") {
  std::string best;
  std::size_t best_distance = 3;  // suggest only close matches
  for (const auto& k : known) {
    // A truncated or extended name ("retention" for "retention_days") is close too.
    const auto shorter = std::min(key.size(), k.size());
    std::size_t d = best_distance;
    if (shorter >= 4 && (k.compare(0, shorter, key, 0, shorter) == 0)) {
      d = 2;
    }
    // The distance is at least the difference in length: a key that long cannot be closer than
    // the best so far, and skipping it keeps a long garbage key from costing a table of cells
    // per known key (it did: a fifth of the config fuzzer's time).
    const auto longer = std::max(key.size(), k.size());
    if (longer - shorter < std::min(d, best_distance)) {
      d = std::min(d, edit_distance(key, k));
    }
    if (d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  if (!best.empty()) {
    return "unknown key" + scope + "; did you mean '" + best + "'?";
  }
  return "unknown key" + scope + "; known keys: " + join_list(known);
}

// -- Scalars and ${VAR} --------------------------------------------------------------------

bool is_env_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

/// Expands `${VAR}` and `${VAR:-default}` (the default also applies when VAR is empty, as in
/// the shell); `$${` stands for a literal `${`. Reports every bad reference and returns nullopt
/// if there was one. Messages name variables, never values. Without `ctx.read_env` (an API
/// body) every `${...}` is such a problem, so that a body never reads the gateway's environment
/// and means what the same text would mean in the file (`$${` still stands for `${`).
std::optional<std::string> expand(context& ctx, const item& it, const std::string& text,
                                  const std::string& hint) {
  std::string out;
  bool ok = true;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    const auto close = text.find('}', i + 2);
    if (close == std::string::npos) {
      ctx.report(it, "unterminated ${ in value (write $${ for a literal ${)");
      return std::nullopt;
    }
    const std::string ref = text.substr(i + 2, close - i - 2);
    const auto sep = ref.find(":-");
    const std::string name = ref.substr(0, sep);
    i = close + 1;
    if (!ctx.read_env) {
      // Names a variable only when it is one: a malformed reference may be part of a secret.
      ctx.report(it, (is_env_name(name) ? "${" + name + "}: an" : std::string("an")) +
                         " API body does not read the gateway's environment; send the value "
                         "itself (write $${ for a literal ${)");
      ok = false;
      continue;
    }
    if (!is_env_name(name)) {
      ctx.report(it, "malformed ${...} reference; write ${NAME} or ${NAME:-default}");
      ok = false;
      continue;
    }
    const char* value = std::getenv(name.c_str());
    if (sep != std::string::npos && (value == nullptr || *value == '\0')) {
      out += ref.substr(sep + 2);
    } else if (value != nullptr) {
      out += value;
    } else {
      ctx.report(it, "environment variable " + name + " is not set" + hint);
      ok = false;
    }
  }
  if (!ok) {
    return std::nullopt;
  }
  return out;
}

const char* kind_of(const YAML::Node& n) {
  if (n.IsMap()) {
    return "mapping";
  }
  if (n.IsSequence()) {
    return "list";
  }
  return "value";
}

/// The expanded text of a scalar; null reads as "". Reports and returns nullopt otherwise.
std::optional<std::string> scalar(context& ctx, const item& it, const std::string& hint = "") {
  if (it.node.IsNull()) {
    return std::string{};
  }
  if (!it.node.IsScalar()) {
    ctx.report(it, std::string("expected a single value, not a ") + kind_of(it.node));
    return std::nullopt;
  }
  return expand(ctx, it, it.node.Scalar(), hint);
}

std::optional<long long> to_integer(const std::string& s) {
  long long v = 0;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (first != last && *first == '+') {
    ++first;
  }
  auto [end, ec] = std::from_chars(first, last, v);
  if (ec != std::errc{} || end != last || first == last) {
    return std::nullopt;
  }
  return v;
}

std::optional<double> to_number(const std::string& s) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) {
    return std::nullopt;
  }
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno != 0 || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

std::optional<bool> to_bool(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (s == "true" || s == "yes" || s == "on") {
    return true;
  }
  if (s == "false" || s == "no" || s == "off") {
    return false;
  }
  return std::nullopt;
}

std::string format_number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string format_list(const std::vector<std::string>& words) {
  std::string out = "[";
  for (const auto& w : words) {
    out += (out.size() > 1 ? ", " : "") + w;
  }
  return out + "]";
}

/// Calls `fn(element)` for each element of a list; null reads as an empty list.
template <class Fn>
void for_each_element(context& ctx, const item& it, Fn fn) {
  if (it.node.IsNull()) {
    return;
  }
  if (!it.node.IsSequence()) {
    ctx.report(it, std::string("expected a list, not a ") + kind_of(it.node));
    return;
  }
  std::size_t i = 0;
  for (const auto& el : it.node) {
    fn(item{el, it.path + "[" + std::to_string(i) + "]", line_of(el, it.line)});
    ++i;
  }
}

/// A list of words; `known` (when not empty) is the vocabulary. Duplicates are dropped.
std::optional<std::vector<std::string>> words(context& ctx, const item& it,
                                              const std::vector<std::string>& known,
                                              const char* what) {
  std::vector<std::string> out;
  bool ok = true;
  for_each_element(ctx, it, [&](const item& el) {
    auto w = scalar(ctx, el);
    if (!w) {
      ok = false;
    } else if (w->empty()) {
      ctx.report(el, std::string("empty ") + what);
      ok = false;
    } else if (!known.empty() && std::find(known.begin(), known.end(), *w) == known.end()) {
      ctx.report(el,
                 std::string("unknown ") + what + " " + quote(*w) + "; known: " + join_list(known));
      ok = false;
    } else if (std::find(out.begin(), out.end(), *w) == out.end()) {
      out.push_back(*w);
    }
  });
  if (!ok || (!it.node.IsNull() && !it.node.IsSequence())) {
    return std::nullopt;
  }
  return out;
}

// -- Declaration tables --------------------------------------------------------------------

/// The keys given in one mapping, each with its line.
using present_keys = std::map<std::string, int>;

template <class T>
struct key_spec {
  std::string name;
  std::string default_text;
  std::string allowed;
  std::string description;
  std::string missing;  ///< non-empty: the key is required and this is the problem when absent
  bool secret = false;
  std::function<void(context&, const item&, T&)> parse;
  /// Sections only: appends the nested keys; `prefix` is the section's own path.
  std::function<void(const std::string& prefix, std::vector<key_info>&)> nested;
};

template <class T>
struct section {
  std::vector<key_spec<T>> keys;
  /// Cross-key checks and derived defaults, run after the keys. `present` maps each key given
  /// to its line; `clean` says whether the keys parsed without problems (values are final).
  std::function<void(context&, const item&, const present_keys& present, bool clean, T&)> check;
};

template <class T>
void document(const section<T>& s, const std::string& prefix, std::vector<key_info>& out) {
  for (const auto& k : s.keys) {
    if (k.nested) {
      k.nested(prefix + k.name, out);
    } else {
      out.push_back({prefix + k.name, k.default_text, k.allowed, k.description, !k.missing.empty(),
                     k.secret});
    }
  }
}

/// Parses a mapping against its declaration. Returns each given key with its line.
template <class T>
present_keys parse_section(context& ctx, const item& it, const section<T>& s, T& out) {
  present_keys present;
  if (!it.node.IsMap() && !it.node.IsNull()) {
    ctx.report(it, std::string("expected a mapping of keys, not a ") + kind_of(it.node));
    return present;
  }
  const auto problems_before = ctx.problems.size();
  std::vector<std::string> names;
  for (const auto& k : s.keys) {
    names.push_back(k.name);
  }
  if (it.node.IsMap()) {
    for (const auto& kv : it.node) {
      const int line = line_of(kv.first, it.line);
      if (!kv.first.IsScalar()) {
        ctx.report(line, it.path, "keys must be plain names");
        continue;
      }
      const std::string key = kv.first.Scalar();
      const std::string path = join(it.path, key);
      if (auto seen = present.find(key); seen != present.end()) {
        ctx.report(line, path,
                   "duplicate key (first at line " + std::to_string(seen->second) + ")");
        continue;
      }
      present.emplace(key, line);
      auto spec = std::find_if(s.keys.begin(), s.keys.end(),
                               [&](const key_spec<T>& k) { return k.name == key; });
      if (spec == s.keys.end()) {
        ctx.report(line, path, unknown_key_problem(key, names));
        continue;
      }
      spec->parse(ctx, item{kv.second, path, line}, out);
    }
  }
  for (const auto& k : s.keys) {
    if (!k.missing.empty() && present.count(k.name) == 0) {
      ctx.report(it.line, join(it.path, k.name), k.missing);
    }
  }
  if (s.check) {
    s.check(ctx, it, present, ctx.problems.size() == problems_before, out);
  }
  return present;
}

// Key builders. Each reads its default from a default-constructed `T`, so the struct's
// initializer in config.hpp is the one place a default is written.

/// An integer from `lo` to `hi`, stored as a `V` into `member` (a `V` or an optional of one).
template <class V, class T, class M>
key_spec<T> ranged_integer_key(const char* name, M T::*member, long long lo, long long hi,
                               std::string default_text, const char* description) {
  key_spec<T> k;
  k.name = name;
  k.default_text = std::move(default_text);
  k.allowed = std::to_string(lo) + ".." + std::to_string(hi);
  k.description = description;
  k.parse = [member, lo, hi](context& ctx, const item& it, T& out) {
    auto text = scalar(ctx, it);
    if (!text) {
      return;
    }
    auto v = to_integer(*text);
    if (!v || *v < lo || *v > hi) {
      ctx.report(it, "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                         " (got " + quote(*text) + ")");
      return;
    }
    out.*member = static_cast<V>(*v);
  };
  return k;
}

template <class T, class M>
key_spec<T> integer_key(const char* name, M T::*member, long long lo, long long hi,
                        const char* description) {
  return ranged_integer_key<M>(name, member, lo, hi, std::to_string(T{}.*member), description);
}

template <class T>
key_spec<T> number_key(const char* name, double T::*member, const char* default_text,
                       const char* description) {
  key_spec<T> k;
  k.name = name;
  k.default_text = default_text != nullptr ? default_text : format_number(T{}.*member);
  k.allowed = ">= 0";
  k.description = description;
  k.parse = [member](context& ctx, const item& it, T& out) {
    auto text = scalar(ctx, it);
    if (!text) {
      return;
    }
    auto v = to_number(*text);
    if (!v || *v < 0) {
      ctx.report(it, "must be a number >= 0 (got " + quote(*text) + ")");
      return;
    }
    out.*member = *v;
  };
  return k;
}

template <class T>
key_spec<T> bool_key(const char* name, bool T::*member, const char* description) {
  key_spec<T> k;
  k.name = name;
  k.default_text = T{}.*member ? "true" : "false";
  k.allowed = "true, false";
  k.description = description;
  k.parse = [member](context& ctx, const item& it, T& out) {
    auto text = scalar(ctx, it);
    if (!text) {
      return;
    }
    auto v = to_bool(*text);
    if (!v) {
      ctx.report(it, "must be true or false (got " + quote(*text) + ")");
      return;
    }
    out.*member = *v;
  };
  return k;
}

template <class T, class M>
key_spec<T> choice_key(const char* name, M T::*member,
                       std::vector<std::pair<std::string, M>> choices, const char* description) {
  key_spec<T> k;
  k.name = name;
  std::vector<std::string> names;
  for (const auto& c : choices) {
    names.push_back(c.first);
    if (c.second == T{}.*member) {
      k.default_text = c.first;
    }
  }
  k.allowed = join_list(names);
  k.description = description;
  k.parse = [member, choices, names](context& ctx, const item& it, T& out) {
    auto text = scalar(ctx, it);
    if (!text) {
      return;
    }
    for (const auto& c : choices) {
      if (c.first == *text) {
        out.*member = c.second;
        return;
      }
    }
    ctx.report(it, "must be one of " + join_list(names) + " (got " + quote(*text) + ")");
  };
  return k;
}

/// `validate` returns "" or the problem; it must not echo the value of a secret.
using validator = std::function<std::string(const std::string&)>;

template <class T>
key_spec<T> string_key(const char* name, std::string T::*member, const char* allowed,
                       validator validate, const char* description, bool secret = false) {
  key_spec<T> k;
  k.name = name;
  k.default_text = T{}.*member;
  k.allowed = allowed;
  k.description = description;
  k.secret = secret;
  k.parse = [member, validate, secret](context& ctx, const item& it, T& out) {
    auto text = scalar(ctx, it);
    if (!text) {
      return;
    }
    if (secret && text->empty()) {
      ctx.report(it, "missing secret");
      return;
    }
    if (validate) {
      if (auto problem = validate(*text); !problem.empty()) {
        ctx.report(it, problem);
        return;
      }
    }
    out.*member = *text;
  };
  return k;
}

template <class T>
key_spec<T> words_key(const char* name, std::vector<std::string> T::*member,
                      std::vector<std::string> known, const char* what, const char* description) {
  key_spec<T> k;
  k.name = name;
  k.default_text = format_list(T{}.*member);
  k.allowed = known.empty() ? "list of words" : "list of: " + join_list(known);
  k.description = description;
  k.parse = [member, known, what](context& ctx, const item& it, T& out) {
    if (auto list = words(ctx, it, known, what)) {
      out.*member = std::move(*list);
    }
  };
  return k;
}

template <class T, class M>
key_spec<T> section_key(const char* name, M T::*member, const section<M>& (*declaration)()) {
  key_spec<T> k;
  k.name = name;
  k.parse = [member, declaration](context& ctx, const item& it, T& out) {
    parse_section(ctx, it, declaration(), out.*member);
  };
  k.nested = [declaration](const std::string& prefix, std::vector<key_info>& out) {
    document(declaration(), prefix + ".", out);
  };
  return k;
}

// -- Validators ----------------------------------------------------------------------------

bool is_name(const std::string& s, std::size_t max_length) {
  auto ok_first = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  auto ok_rest = [&](char c) { return ok_first(c) || c == '_' || c == '-'; };
  return !s.empty() && s.size() <= max_length && ok_first(s[0]) &&
         std::all_of(s.begin() + 1, s.end(), ok_rest);
}

std::string validate_listen(const std::string& s) {
  const std::string problem =
      "must be host:port with a port from 0 to 65535 (got " + quote(s) + ")";
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return problem;
  }
  const std::string host = s.substr(0, colon);
  const std::string port = s.substr(colon + 1);
  if (host.front() == '[' ? host.back() != ']' || host.size() < 3
                          : host.find(':') != std::string::npos) {
    return problem + "; write IPv6 addresses as [::1]:8080";
  }
  auto p = to_integer(port);
  if (port.empty() ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) || !p ||
      *p > 65535) {
    return problem;
  }
  return {};
}

std::string validate_readable(const std::string& path) {
  if (path.empty()) {
    return {};
  }
  std::error_code ec;
  std::ifstream in(path);
  if (!in || std::filesystem::is_directory(path, ec)) {
    return "cannot read file " + quote(path);
  }
  return {};
}

std::string validate_not_empty(const std::string& s) {
  return s.empty() ? "must not be empty" : "";
}

std::string validate_url(const std::string& s) {
  const std::string problem = "must be an http:// or https:// URL with a host";
  std::size_t rest = 0;
  if (s.rfind("http://", 0) == 0) {
    rest = 7;
  } else if (s.rfind("https://", 0) == 0) {
    rest = 8;
  } else {
    return problem;
  }
  if (rest >= s.size() || s[rest] == '/' || s[rest] == ':' || s[rest] == '?') {
    return problem;
  }
  if (std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); })) {
    return problem + " (no spaces)";
  }
  return {};
}

constexpr const char* k_push_secret_hint =
    "must be \"whsec_\" followed by the base64 of 24 to 64 random bytes; generate one with "
    "`echo whsec_$(openssl rand -base64 32)`";

std::string validate_push_secret(const std::string& s) {
  const std::string prefix = "whsec_";
  if (s.rfind(prefix, 0) != 0) {
    return k_push_secret_hint;
  }
  auto key = crypto::base64_decode(std::string_view(s).substr(prefix.size()));
  if (!key || key->size() < 24 || key->size() > 64) {
    return k_push_secret_hint;
  }
  return {};
}

const std::vector<std::string>& scope_names() {
  // In bit order (the static_assert below): a scope's bit is 1 << its index here.
  static const std::vector<std::string> names{scope_name(scope::stream), scope_name(scope::send),
                                              scope_name(scope::privacy), scope_name(scope::admin)};
  return names;
}

constexpr const char* k_master_key_hint = "generate one with `openssl rand -hex 32`";

// -- Sections ------------------------------------------------------------------------------

const section<tls_config>& tls_section() {
  static const section<tls_config> s{
      {
          string_key<tls_config>("cert", &tls_config::cert, "readable file", validate_readable,
                                 "PEM certificate chain. With `key`, the server speaks HTTPS "
                                 "only; without both, plain HTTP."),
          string_key<tls_config>("key", &tls_config::key, "readable file", validate_readable,
                                 "PEM private key of `cert`."),
      },
      [](context& ctx, const item& it, const present_keys& present, bool clean, tls_config& out) {
        // Decided on the keys given, so a bad value of one does not hide the other's absence.
        const bool has_cert = present.count("cert") != 0;
        if (has_cert != (present.count("key") != 0)) {
          ctx.report(present.at(has_cert ? "cert" : "key"),
                     join(it.path, has_cert ? "key" : "cert"),
                     std::string("required together with ") + (has_cert ? "cert" : "key") +
                         " (give both or neither)");
        } else if (clean && out.cert.empty() != out.key.empty()) {
          const bool empty_cert = out.cert.empty();
          ctx.report(present.at(empty_cert ? "cert" : "key"),
                     join(it.path, empty_cert ? "cert" : "key"),
                     "must not be empty when " + std::string(empty_cert ? "key" : "cert") +
                         " is set (give both or neither)");
        }
      }};
  return s;
}

const section<scheduler_config>& scheduler_section() {
  static const section<scheduler_config> s{
      {
          integer_key("max_threads", &scheduler_config::max_threads, 1, 64,
                      "CAF scheduler worker threads (the actors' threads)."),
          integer_key("max_throughput", &scheduler_config::max_throughput, 1, 1000000,
                      "Messages an actor handles before it yields its thread."),
          bool_key("poll_sleep", &scheduler_config::poll_sleep,
                   "Let idle workers sleep between polls (saves CPU, adds latency)."),
      },
      nullptr};
  return s;
}

/// A token's SHA-256 as 64 hex characters, lower-cased; "" when it is not one.
std::string normalized_token_hash(std::string hex) {
  std::transform(hex.begin(), hex.end(), hex.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return hex.size() == 64 && crypto::from_hex(hex) ? hex : std::string{};
}

const section<metrics_config>& metrics_section() {
  static const section<metrics_config> s = [] {
    key_spec<metrics_config> token;
    token.name = "token_sha256";
    token.allowed = "64 hex characters";
    token.description =
        "SHA-256 (hex) of a bearer token that GET /metrics then requires (401 without it). "
        "Empty: no token.";
    token.parse = [](context& ctx, const item& it, metrics_config& out) {
      auto v = scalar(ctx, it);
      if (!v || v->empty()) {
        return;
      }
      auto hex = normalized_token_hash(*v);
      if (hex.empty()) {
        ctx.report(it,
                   "must be the 64 hex characters of the token's SHA-256 "
                   "(`printf %s TOKEN | sha256sum`)");
        return;
      }
      out.token_sha256 = std::move(hex);
    };
    return section<metrics_config>{
        {
            token,
            string_key<metrics_config>(
                "listen", &metrics_config::listen, "host:port",
                [](const std::string& v) { return v.empty() ? std::string{} : validate_listen(v); },
                "A separate listener for GET /metrics (and /healthz, /readyz) only, e.g. "
                "\"127.0.0.1:9090\"; the main listener then answers /metrics with 404. Empty: "
                "/metrics is served on server.listen."),
        },
        nullptr};
  }();
  return s;
}

key_spec<server_config> trusted_proxies_key() {
  key_spec<server_config> k;
  k.name = "trusted_proxies";
  k.default_text = "[]";
  k.allowed = "list of IP addresses or CIDR networks";
  k.description =
      "Peers (load balancers, reverse proxies) whose X-Forwarded-For names the request's "
      "source address, e.g. [10.0.0.0/8, \"::1\"]. A request from any other peer is "
      "attributed to that peer, whatever it sends.";
  k.parse = [](context& ctx, const item& it, server_config& out) {
    std::vector<std::string> nets;
    bool ok = true;
    for_each_element(ctx, it, [&](const item& el) {
      auto v = scalar(ctx, el);
      if (!v) {
        ok = false;
      } else if (!ip::parse_network(*v)) {
        ctx.report(el,
                   "must be an IP address or a CIDR network with zero host bits, such as "
                   "10.0.0.0/8 or fd00::/8 (got " +
                       quote(*v) + ")");
        ok = false;
      } else {
        nets.push_back(*v);
      }
    });
    if (ok) {
      out.trusted_proxies = std::move(nets);
    }
  };
  return k;
}

const section<server_config>& server_section() {
  static const section<server_config> s{
      {
          string_key<server_config>("listen", &server_config::listen, "host:port", validate_listen,
                                    "Address and port of the HTTP listener; port 0 picks a free "
                                    "port (logged at start-up)."),
          integer_key("io_threads", &server_config::io_threads, 1, 64,
                      "Threads running the HTTP I/O (Boost.Asio)."),
          integer_key("max_body_bytes", &server_config::max_body_bytes, 1024, 67108864,
                      "Largest request body accepted; larger ones get 413."),
          integer_key("max_header_bytes", &server_config::max_header_bytes, 1024, 1048576,
                      "Largest request header block accepted."),
          integer_key("header_timeout_ms", &server_config::header_timeout_ms, 1, 3600000,
                      "Time from connect (or the previous response) to complete headers."),
          integer_key("body_timeout_ms", &server_config::body_timeout_ms, 1, 3600000,
                      "Time to receive the last byte of a body."),
          integer_key("idle_timeout_ms", &server_config::idle_timeout_ms, 1, 3600000,
                      "How long a keep-alive connection may idle between requests."),
          integer_key("write_timeout_ms", &server_config::write_timeout_ms, 1, 3600000,
                      "Time to write a response before the connection is dropped."),
          integer_key("shutdown_grace_ms", &server_config::shutdown_grace_ms, 0, 600000,
                      "How long in-flight requests may finish after SIGTERM."),
          integer_key(
              "max_connections", &server_config::max_connections, 1, 1000000,
              "Concurrent connections; further ones are answered 503 and closed. Clamped at start "
              "below the process's open-files limit (raised to its hard limit)."),
          integer_key("mailbox_high_water", &server_config::mailbox_high_water, 1, 100000000,
                      "Queued messages past which an actor sheds load with 503 and Retry-After."),
          string_key<server_config>(
              "public_url", &server_config::public_url, "http(s) URL",
              [](const std::string& s) { return s.empty() ? std::string{} : validate_url(s); },
              "Base URL the gateway is reached at from outside (behind a proxy or TLS "
              "terminator), for links it hands out: Meta's data-deletion status URL. Empty = "
              "http://<listen>."),
          trusted_proxies_key(),
          section_key("metrics", &server_config::metrics, metrics_section),
          section_key("tls", &server_config::tls, tls_section),
          section_key("scheduler", &server_config::scheduler, scheduler_section),
      },
      nullptr};
  return s;
}

const section<postgres_config>& postgres_section() {
  static const section<postgres_config> s{
      {
          string_key<postgres_config>(
              "dsn", &postgres_config::dsn, "libpq connection string or URI", nullptr,
              "The PostgreSQL database (storage.backend: postgres), e.g. \"host=/run/postgresql "
              "dbname=switchboard user=switchboard\"; ${VAR} to keep a password out of the file.",
              true),
          integer_key("pool", &postgres_config::pool, 1, 256,
                      "Connections to PostgreSQL this replica opens at most."),
      },
      nullptr};
  return s;
}

std::string validate_node_id(const std::string& s) {
  const bool ok = !s.empty() && s.size() <= 100 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == ':' || c == '-';
  });
  return ok ? "" : "must be 1 to 100 characters of A-Z a-z 0-9 . _ : -";
}

const section<storage_config>& storage_section() {
  static const section<storage_config> s = [] {
    key_spec<storage_config> master_key;
    master_key.name = "master_key";
    master_key.allowed = "64 hex characters";
    master_key.description =
        std::string(
            "Key encrypting every stored subject's data key (32 bytes as hex); replaced with "
            "`switchboard rotate-master-key`. Required; ") +
        k_master_key_hint + ".";
    master_key.missing = std::string("missing secret; ") + k_master_key_hint;
    master_key.secret = true;
    master_key.parse = [](context& ctx, const item& it, storage_config& out) {
      auto text = scalar(ctx, it, std::string("; ") + k_master_key_hint);
      if (!text) {
        return;
      }
      if (text->empty()) {
        ctx.report(it, std::string("missing secret; ") + k_master_key_hint);
        return;
      }
      auto raw = text->size() == 64 ? crypto::from_hex(*text) : std::nullopt;
      if (!raw) {
        ctx.report(
            it, std::string("must be exactly 64 hex characters (32 bytes); ") + k_master_key_hint);
        return;
      }
      out.master_key = std::move(*raw);
    };

    return section<storage_config>{
        {
            choice_key<storage_config, std::string>(
                "backend", &storage_config::backend,
                {{"memory", "memory"}, {"sqlite", "sqlite"}, {"postgres", "postgres"}},
                "Event store: memory (lost on exit), sqlite (durable, one machine) or postgres "
                "(durable, shared by several replicas; docs/scale-out.md)."),
            section_key("postgres", &storage_config::postgres, postgres_section),
            string_key<storage_config>("path", &storage_config::path, "directory",
                                       validate_not_empty,
                                       "Directory of the sqlite database (relative to the working "
                                       "directory)."),
            choice_key<storage_config, durability>(
                "durability", &storage_config::durability,
                {{"fsync", durability::fsync}, {"os", durability::os}, {"none", durability::none}},
                "When an event counts as stored: fsync (on disk), os (handed to the OS), none."),
            master_key,
        },
        [](context& ctx, const item& it, const present_keys& present, bool clean,
           storage_config& out) {
          if (clean && out.backend == "postgres" && out.postgres.dsn.empty()) {
            ctx.report(present.count("backend") != 0 ? present.at("backend") : it.line,
                       join(it.path, "postgres.dsn"),
                       "required when storage.backend is postgres (a libpq connection string, "
                       "e.g. \"host=/run/postgresql dbname=switchboard user=switchboard\")");
          }
        }};
  }();
  return s;
}

const section<cluster_config>& cluster_section() {
  static const section<cluster_config> s{
      {
          string_key<cluster_config>(
              "node_id", &cluster_config::node_id, "1-100 characters of A-Z a-z 0-9 . _ : -",
              validate_node_id,
              "This replica's name, unique among the replicas on one database; by default the "
              "listen address plus a random suffix."),
          integer_key("lease_ms", &cluster_config::lease_ms, 500, 600000,
                      "How long a dead replica's singleton work (push delivery, senders, retention, "
                      "outbox resume) waits before another replica takes it over."),
      },
      nullptr};
  return s;
}

const section<control_plane_config>& control_plane_section() {
  static const section<control_plane_config> s{
      {
          integer_key("secret_grace_seconds", &control_plane_config::secret_grace_seconds, 0,
                      2592000,
                      "After a channel's secret is changed through the control plane's API, "
                      "how long the previous one is still accepted on inbound requests."),
          bool_key("manage_file_tenants", &control_plane_config::manage_file_tenants,
                   "Import the file's tenants into the store (each once: at start, or at the "
                   "reload that adds it) and serve them from there, changeable through the API; "
                   "an imported tenant's entry in the file is then no longer read."),
      },
      nullptr};
  return s;
}

const section<log_config>& log_section() {
  static const section<log_config> s{
      {
          choice_key<log_config, log_format>(
              "format", &log_config::format,
              {{"text", log_format::text}, {"json", log_format::json}},
              "Log lines on stderr: text (one readable line per record) or json (one JSON object "
              "per line: ts, level, component, msg and the record's fields). --log-format "
              "overrides it."),
          bool_key("access", &log_config::access,
                   "One info line per finished request (request_id, method, route, status, "
                   "duration_us, tenant, channel, remote); never bodies, tokens or query "
                   "strings."),
      },
      nullptr};
  return s;
}

/// `burst` defaults to `rps`, and must hold one request when there is a limit.
void check_rate_limit(context& ctx, const item& it, const present_keys& present, bool clean,
                      rate_limit_config& out) {
  if (!clean) {
    return;
  }
  if (present.count("burst") == 0) {
    out.burst = out.rps;
  }
  if (out.rps > 0 && out.burst < 1) {
    ctx.report(present.count("burst") != 0 ? present.at("burst") : it.line, join(it.path, "burst"),
               "must be at least 1 when rps > 0");
  }
}

const section<rate_limit_config>& rate_limit_section() {
  static const section<rate_limit_config> s{
      {
          number_key("rps", &rate_limit_config::rps, nullptr,
                     "Webhooks per second the tenant may send in (0 = unlimited); beyond it 429."),
          number_key("burst", &rate_limit_config::burst, "same as rps",
                     "Requests allowed at once above the steady rate (token bucket size)."),
      },
      check_rate_limit};
  return s;
}

const section<rate_limit_config>& send_rate_limit_section() {
  static const section<rate_limit_config> s{
      {
          number_key("rps", &rate_limit_config::rps, nullptr,
                     "Messages per second this token may submit with POST /v1/messages "
                     "(0 = unlimited); beyond it 429 with Retry-After."),
          number_key("burst", &rate_limit_config::burst, "same as rps",
                     "Messages the token may submit at once above the steady rate."),
      },
      check_rate_limit};
  return s;
}

const section<privacy_config>& privacy_section() {
  static const section<privacy_config> s = [] {
    key_spec<privacy_config> redact;
    redact.name = "redact";
    redact.default_text = "[]";
    redact.allowed = "list of: card_numbers";
    redact.description =
        "What never reaches storage or subscribers: card_numbers (Luhn-valid 13-19 digits).";
    redact.parse = [](context& ctx, const item& it, privacy_config& out) {
      if (auto list = words(ctx, it, {"card_numbers"}, "redaction")) {
        out.redact_card_numbers =
            std::find(list->begin(), list->end(), "card_numbers") != list->end();
      }
    };

    return section<privacy_config>{
        {
            bool_key("pseudonymize", &privacy_config::pseudonymize,
                     "Omit `sender` and redact phone numbers and e-mail addresses from text."),
            redact,
            integer_key("retention_days", &privacy_config::retention_days, 1, 3650,
                        "Events older than this are deleted (by the hourly retention sweep). "
                        "Unset: the top-level privacy.retention_days."),
            words_key("opt_out_keywords", &privacy_config::opt_out_keywords, {}, "keyword",
                      "Inbound keywords that withdraw marketing consent (emits consent.changed)."),
            words_key("opt_in_keywords", &privacy_config::opt_in_keywords, {}, "keyword",
                      "Inbound keywords that grant marketing consent again."),
            bool_key("allow_replies_after_opt_out", &privacy_config::allow_replies_after_opt_out,
                     "Support replies within 24 h of the person's own message still reach a "
                     "subject who opted out or is restricted (false: nothing is sent to them)."),
        },
        [](context& ctx, const item& it, const present_keys& present, bool clean,
           privacy_config& out) {
          if (!clean) {
            return;
          }
          auto upper = [](std::string s) {
            std::transform(s.begin(), s.end(), s.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
            return s;
          };
          for (const auto& in : out.opt_in_keywords) {
            for (const auto& off : out.opt_out_keywords) {
              if (upper(in) == upper(off)) {
                const auto line =
                    present.count("opt_in_keywords") != 0    ? present.at("opt_in_keywords")
                    : present.count("opt_out_keywords") != 0 ? present.at("opt_out_keywords")
                                                             : it.line;
                ctx.report(line, join(it.path, "opt_in_keywords"),
                           "keyword " + quote(in) + " is also an opt-out keyword");
              }
            }
          }
        }};
  }();
  return s;
}

const section<privacy_defaults_config>& privacy_defaults_section() {
  static const section<privacy_defaults_config> s{
      {
          integer_key("retention_days", &privacy_defaults_config::retention_days, 1, 3650,
                      "Retention of the tenants that do not set privacy.retention_days."),
      },
      nullptr};
  return s;
}

/// Whether a tenant's YAML sets privacy.retention_days itself.
bool sets_retention(const YAML::Node& tenant) {
  if (!tenant.IsMap()) {
    return false;
  }
  const auto privacy = tenant["privacy"];
  return privacy && privacy.IsMap() && privacy["retention_days"];
}

const channel_schema* find_schema(const context& ctx, const std::string& type) {
  for (const auto& s : *ctx.schemas) {
    if (s.type == type) {
      return &s;
    }
  }
  return nullptr;
}

std::string known_types(const context& ctx) {
  std::vector<std::string> types;
  for (const auto& s : *ctx.schemas) {
    types.push_back(s.type);
  }
  std::sort(types.begin(), types.end());
  return join_list(types);
}

/// A list setting (`setting_spec::list`) written as a YAML list: its values joined with '\n'.
/// Reports an element that is not one single-line value.
std::optional<std::string> list_value(context& ctx, const item& it) {
  std::string out;
  bool ok = true;
  for (std::size_t i = 0; i < it.node.size(); ++i) {
    const item el{it.node[i], it.path + "[" + std::to_string(i) + "]",
                  line_of(it.node[i], it.line)};
    auto v = scalar(ctx, el);
    if (!v) {
      ok = false;
      continue;
    }
    if (v->empty() || v->find('\n') != std::string::npos) {
      ctx.report(el, "must be one non-empty line");
      ok = false;
      continue;
    }
    out.append(out.empty() ? "" : "\n").append(*v);
  }
  if (!ok) {
    return std::nullopt;
  }
  return out;
}

/// A channel: `name`, `type`, then the settings its type's schema declares.
void parse_channel(context& ctx, const item& it, channel_config& ch) {
  ch.source = ctx.source + ":" + std::to_string(it.line);
  if (!it.node.IsMap()) {
    ctx.report(it, std::string("expected a mapping (name, type and the type's settings), not a ") +
                       kind_of(it.node));
    return;
  }
  std::vector<item> settings;
  std::map<std::string, int> present;
  for (const auto& kv : it.node) {
    const int line = line_of(kv.first, it.line);
    if (!kv.first.IsScalar()) {
      ctx.report(line, it.path, "keys must be plain names");
      continue;
    }
    const std::string key = kv.first.Scalar();
    const std::string path = join(it.path, key);
    if (auto seen = present.find(key); seen != present.end()) {
      ctx.report(line, path, "duplicate key (first at line " + std::to_string(seen->second) + ")");
      continue;
    }
    present.emplace(key, line);
    item value{kv.second, path, line};
    if (key == "name") {
      if (auto name = scalar(ctx, value)) {
        if (!is_name(*name, std::string::npos)) {
          ctx.report(value, "must match [a-z0-9][a-z0-9_-]* (got " + quote(*name) + ")");
        } else {
          ch.name = *name;
        }
      }
    } else if (key == "type") {
      if (auto type = scalar(ctx, value)) {
        if (find_schema(ctx, *type) == nullptr) {
          ctx.report(value,
                     "unknown channel type " + quote(*type) + "; known types: " + known_types(ctx));
        } else {
          ch.type = *type;
        }
      }
    } else {
      settings.push_back(std::move(value));
    }
  }
  if (present.count("name") == 0) {
    ctx.report(it.line, join(it.path, "name"), "required");
  }
  if (present.count("type") == 0) {
    ctx.report(it.line, join(it.path, "type"), "required; known types: " + known_types(ctx));
  }
  const channel_schema* schema = find_schema(ctx, ch.type);
  if (schema == nullptr) {
    return;  // without a type its settings cannot be judged
  }
  std::vector<std::string> names{"name", "type"};
  for (const auto& spec : schema->settings) {
    names.push_back(spec.key);
  }
  const auto previous = previous_secret_settings(*schema);  // K_previous, config/config.hpp
  for (const auto& spec : previous) {
    names.push_back(spec.key);
  }
  for (const auto& value : settings) {
    // An API body's channel is the root: its keys' paths are the keys themselves.
    const std::string key = it.path.empty() ? value.path : value.path.substr(it.path.size() + 1);
    auto named = [&](const setting_spec& s) { return s.key == key; };
    const setting_spec* spec = nullptr;
    bool is_previous = false;
    if (auto s = std::find_if(schema->settings.begin(), schema->settings.end(), named);
        s != schema->settings.end()) {
      spec = &*s;
    } else if (auto p = std::find_if(previous.begin(), previous.end(), named);
               p != previous.end()) {
      spec = &*p;
      is_previous = true;
    }
    if (spec == nullptr) {
      ctx.report(value, unknown_key_problem(key, names, " for channel type " + ch.type));
      continue;
    }
    if (spec->derived) {
      ctx.report(value, "is derived from storage.master_key by the gateway; remove it");
      continue;
    }
    std::optional<std::string> text;
    if (spec->list && value.node.IsSequence()) {
      text = list_value(ctx, value);
    } else {
      text = scalar(ctx, value);
      if (text && spec->list && text->find('\n') != std::string::npos) {
        ctx.report(value, "a value of this list must be one line");
        continue;
      }
    }
    if (!text || (is_previous && text->empty())) {
      continue;  // an empty K_previous is no previous secret
    }
    if (text->empty() && spec->secret) {
      ctx.report(value, "missing secret");
    } else if (text->empty() && spec->required) {
      ctx.report(value, "must not be empty");
    } else {
      ch.settings[key] = std::move(*text);
    }
  }
  for (const auto& spec : schema->settings) {
    if (present.count(spec.key) != 0 || spec.derived) {
      continue;
    }
    if (spec.required) {
      ctx.report(it.line, join(it.path, spec.key),
                 spec.secret ? "missing secret" : "required for channel type " + ch.type);
    } else {
      ch.settings[spec.key] = spec.default_value;
    }
  }
  // The type's own rules on the values (e.g. outbound rate limits must be non-negative numbers:
  // a bad one would otherwise silently mean "no limit").
  if (schema->check) {
    for (const auto& p : schema->check(ch)) {
      auto where = present.find(p.key);
      ctx.report(where != present.end() ? where->second : it.line, join(it.path, p.key), p.problem);
    }
  }
}

/// An optional integer of `push_config`: unset means the gateway's delivery default, which
/// starts from `default_value` (a `push_defaults` member).
key_spec<push_config> optional_integer_key(const char* name,
                                           std::optional<int> push_config::*member, int lo, int hi,
                                           int default_value, const char* description) {
  return ranged_integer_key<int>(name, member, lo, hi, std::to_string(default_value), description);
}

constexpr std::size_t k_max_retry_entries = 20;
constexpr long long k_max_retry_wait_ms = 86400000;  // 24 h, as the Retry-After cap

key_spec<push_config> retry_schedule_key() {
  key_spec<push_config> k;
  k.name = "retry_schedule_ms";
  std::vector<std::string> waits;
  for (auto ms : push_defaults::retry_schedule_ms) {
    waits.push_back(std::to_string(ms));
  }
  k.default_text = format_list(waits);
  k.allowed = "1.." + std::to_string(k_max_retry_entries) + " entries of 0.." +
              std::to_string(k_max_retry_wait_ms) + ", the first 0";
  k.description =
      "Wait before each attempt after the previous one failed (the first entry is the first "
      "attempt, so 0); one attempt per entry, then a dead letter. Waits get +-20% jitter; a "
      "longer Retry-After wins.";
  k.parse = [](context& ctx, const item& it, push_config& out) {
    std::vector<std::int64_t> delays;
    bool ok = true;
    bool first = true;
    for_each_element(ctx, it, [&](const item& el) {
      const bool is_first = first;
      first = false;
      auto text = scalar(ctx, el);
      if (!text) {
        ok = false;
        return;
      }
      auto v = to_integer(*text);
      if (!v || *v < 0 || *v > k_max_retry_wait_ms) {
        ctx.report(el, "must be a wait in milliseconds from 0 to " +
                           std::to_string(k_max_retry_wait_ms) + " (got " + quote(*text) + ")");
        ok = false;
        return;
      }
      if (is_first && *v != 0) {
        ctx.report(el,
                   "the first entry is the first attempt and must be 0 (got " + quote(*text) + ")");
        ok = false;
        return;
      }
      delays.push_back(*v);
    });
    if (!it.node.IsSequence()) {
      if (it.node.IsNull()) {
        ctx.report(it, "must list at least one wait (the first attempt, 0)");
      }
      return;
    }
    if (it.node.size() == 0) {
      ctx.report(it, "must list at least one wait (the first attempt, 0)");
      return;
    }
    if (it.node.size() > k_max_retry_entries) {
      ctx.report(it, "at most " + std::to_string(k_max_retry_entries) + " attempts (got " +
                         std::to_string(it.node.size()) + ")");
      return;
    }
    if (ok) {
      out.retry_schedule_ms = std::move(delays);
    }
  };
  return k;
}

const section<push_config>& push_section() {
  static const section<push_config> s{
      {
          [] {
            auto k = string_key<push_config>("url", &push_config::url, "http(s) URL", validate_url,
                                             "Where events are POSTed.");
            k.missing = "required";
            return k;
          }(),
          [] {
            auto k = string_key<push_config>("secret", &push_config::secret,
                                             "whsec_ + base64 (24..64 bytes)", validate_push_secret,
                                             "Standard Webhooks signing key; generate one with "
                                             "`echo whsec_$(openssl rand -base64 32)`.",
                                             true);
            k.missing = "missing secret; generate one with `echo whsec_$(openssl rand -base64 32)`";
            return k;
          }(),
          [] {
            // Rotation (docs/security.md): both signatures go out until this key is removed.
            auto k = string_key<push_config>(
                "secret_previous", &push_config::secret_previous,
                "whsec_ + base64 (24..64 bytes), or empty",
                [](const std::string& v) {
                  return v.empty() ? std::string() : validate_push_secret(v);
                },
                "The previous signing key while the backend rotates: each delivery carries both "
                "signatures (`webhook-signature: v1,<new> v1,<previous>`); remove it once the "
                "backend verifies with the new key.");
            k.secret = true;  // never echoed; empty (an unset ${VAR:-}) is no previous key
            return k;
          }(),
          optional_integer_key("timeout_ms", &push_config::timeout_ms, 100, 60000,
                               push_defaults::timeout_ms,
                               "Time one delivery attempt may take, connect included; then it "
                               "counts as failed and is retried."),
          optional_integer_key("max_in_flight", &push_config::max_in_flight, 1, 256,
                               push_defaults::max_in_flight,
                               "Delivery attempts of this subscriber running at once (a receiver "
                               "that holds requests open holds at most this many)."),
          retry_schedule_key(),
      },
      nullptr};
  return s;
}

/// A `token_sha256` value (subscribers and operators): lower-cased, 64 hex characters, and no
/// other subscriber or operator of the whole file holding the same token (`why_unique` ends the
/// message that says so). Reports and returns nullopt otherwise.
std::optional<std::string> token_digest(context& ctx, const item& it, const char* why_unique) {
  auto v = scalar(ctx, it);
  if (!v) {
    return std::nullopt;
  }
  std::string hex = *v;
  std::transform(hex.begin(), hex.end(), hex.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (hex.size() != 64 || !crypto::from_hex(hex)) {
    ctx.report(it,
               "must be the 64 hex characters of the token's SHA-256 "
               "(`printf %s TOKEN | sha256sum`)");
    return std::nullopt;
  }
  if (ctx.taken != nullptr) {
    if (const std::string* holder = ctx.taken->holder(hex)) {
      ctx.report(it, "same token as " + *holder + "; " + why_unique);
      return std::nullopt;
    }
  }
  const std::string owner = it.path.substr(0, it.path.rfind('.'));
  auto [first, inserted] = ctx.tokens.emplace(hex, token_owner{owner, it.line});
  if (!inserted) {
    const auto& holder = first->second;
    ctx.report(it, "same token as " + holder.subscriber +
                       (holder.line > 0 ? " (line " + std::to_string(holder.line) + ")" : "") +
                       "; " + why_unique);
    return std::nullopt;
  }
  return hex;
}

const section<subscriber_config>& subscriber_section() {
  static const section<subscriber_config> s = [] {
    key_spec<subscriber_config> name;
    name.name = "name";
    name.allowed = "[a-z0-9][a-z0-9_-]*";
    name.description = "Unique within the tenant; names the subscriber in the API and metrics.";
    name.missing = "required";
    name.parse = [](context& ctx, const item& it, subscriber_config& out) {
      if (auto v = scalar(ctx, it)) {
        if (!is_name(*v, std::string::npos)) {
          ctx.report(it, "must match [a-z0-9][a-z0-9_-]* (got " + quote(*v) + ")");
        } else {
          out.name = *v;
        }
      }
    };

    key_spec<subscriber_config> token;
    token.name = "token_sha256";
    token.allowed = "64 hex characters";
    token.description =
        "SHA-256 (hex) of the subscriber's bearer token (upper-case hex is accepted). A token "
        "belongs to one subscriber of one tenant. Make one with `openssl rand -hex 24`; hash it "
        "with `sha256sum`.";
    token.parse = [](context& ctx, const item& it, subscriber_config& out) {
      if (auto hex = token_digest(ctx, it, "a token belongs to one subscriber")) {
        out.token_sha256 = std::move(*hex);
      }
    };

    key_spec<subscriber_config> scopes;
    scopes.name = "scopes";
    scopes.default_text = "[]";
    scopes.allowed = "list of: " + join_list(scope_names());
    scopes.description = "What the token may do: stream/pull events, send, privacy calls, admin.";
    scopes.parse = [](context& ctx, const item& it, subscriber_config& out) {
      if (auto list = words(ctx, it, scope_names(), "scope")) {
        out.scopes = 0;
        for (const auto& w : *list) {
          const auto pos = std::find(scope_names().begin(), scope_names().end(), w);
          out.scopes |= 1u << (pos - scope_names().begin());
        }
      }
    };

    key_spec<subscriber_config> push;
    push.name = "push";
    push.parse = [](context& ctx, const item& it, subscriber_config& out) {
      push_config p;
      const auto before = ctx.problems.size();
      parse_section(ctx, it, push_section(), p);
      if (ctx.problems.size() == before) {
        out.push = std::move(p);
      }
    };
    push.nested = [](const std::string& prefix, std::vector<key_info>& out) {
      document(push_section(), prefix + ".", out);
    };

    return section<subscriber_config>{
        {
            name,
            token,
            scopes,
            words_key("purposes", &subscriber_config::purposes,
                      {"support", "ai", "analytics", "marketing"}, "purpose",
                      "Purposes the backend serves; it gets a person's events only if the person "
                      "allows one of them."),
            push,
            section_key("send_rate_limit", &subscriber_config::send_rate_limit,
                        send_rate_limit_section),
        },
        [](context& ctx, const item& it, const present_keys& present, bool, subscriber_config&) {
          if (present.count("token_sha256") == 0 && present.count("push") == 0) {
            ctx.report(it, "needs token_sha256 (API access) or push (delivery), or both");
          }
        }};
    static_assert(
        static_cast<unsigned>(scope::stream) == 1 && static_cast<unsigned>(scope::send) == 2 &&
            static_cast<unsigned>(scope::privacy) == 4 && static_cast<unsigned>(scope::admin) == 8,
        "scope bits follow scope_names()");
  }();
  return s;
}

/// Parses a list of named mappings, reporting names used twice.
/// `parse` fills one element and returns the line of its name key; `name_key` is "name" or
/// "id" and `name_of` reads it back.
template <class T, class Parse>
void parse_named_list(context& ctx, const item& it, std::vector<T>& out, const char* what,
                      const char* name_key, std::string T::*name_of, Parse parse) {
  std::map<std::string, int> names;
  for_each_element(ctx, it, [&](const item& el) {
    T value;
    const int name_line = parse(ctx, el, value);
    const std::string& name = value.*name_of;
    if (!name.empty()) {
      auto [first, inserted] = names.emplace(name, name_line);
      if (!inserted) {
        ctx.report(name_line, el.path + "." + name_key,
                   std::string("duplicate ") + what + " " + name_key + " " + quote(name) +
                       " (first at line " + std::to_string(first->second) + ")");
      }
    }
    out.push_back(std::move(value));
  });
}

const section<tenant_config>& tenant_section() {
  static const section<tenant_config> s = [] {
    key_spec<tenant_config> id;
    id.name = "id";
    id.allowed = "[a-z0-9][a-z0-9_-]{0,62}";
    id.description = "Tenant id, unique; the {tenant} of /webhooks/{tenant}/{channel}.";
    id.missing = "required";
    id.parse = [](context& ctx, const item& it, tenant_config& out) {
      if (auto v = scalar(ctx, it)) {
        if (!is_name(*v, 63)) {
          ctx.report(it, "must match [a-z0-9][a-z0-9_-]{0,62} (got " + quote(*v) + ")");
        } else {
          out.id = *v;
        }
      }
    };

    key_spec<tenant_config> channels;
    channels.name = "channels";
    channels.parse = [](context& ctx, const item& it, tenant_config& out) {
      parse_named_list(
          ctx, it, out.channels, "channel", "name", &channel_config::name,
          [](context& c, const item& el, channel_config& ch) {
            parse_channel(c, el, ch);
            return el.node.IsMap() && el.node["name"] ? line_of(el.node["name"], el.line) : el.line;
          });
    };
    channels.nested = [](const std::string& prefix, std::vector<key_info>& out) {
      out.push_back({prefix + "[].name", "", "[a-z0-9][a-z0-9_-]*",
                     "Unique within the tenant; the {channel} of /webhooks/{tenant}/{channel}.",
                     true, false});
      out.push_back({prefix + "[].type", "", "a channel type, see below",
                     "Platform; selects which further keys the channel takes.", true, false});
    };

    key_spec<tenant_config> subscribers;
    subscribers.name = "subscribers";
    subscribers.parse = [](context& ctx, const item& it, tenant_config& out) {
      parse_named_list(ctx, it, out.subscribers, "subscriber", "name", &subscriber_config::name,
                       [](context& c, const item& el, subscriber_config& sub) {
                         auto present = parse_section(c, el, subscriber_section(), sub);
                         return present.count("name") != 0 ? present.at("name") : el.line;
                       });
    };
    subscribers.nested = [](const std::string& prefix, std::vector<key_info>& out) {
      document(subscriber_section(), prefix + "[].", out);
    };

    return section<tenant_config>{
        {
            id,
            section_key("rate_limit", &tenant_config::rate_limit, rate_limit_section),
            section_key("privacy", &tenant_config::privacy, privacy_section),
            channels,
            subscribers,
        },
        nullptr};
  }();
  return s;
}

/// `burst` defaults to `rps`; both must admit at least one request (a zero budget would turn
/// every failed verification into a 429, hiding the 401 a misconfigured platform needs to see).
template <class L>
const section<L>& failure_limit_section() {
  // The check below refuses 0: no budget would mean every failure answered 401 for ever, the
  // flood this limit exists for. The table says so (docs/configuration.md is checked against it).
  const auto allowing = [](key_spec<L> k, const char* allowed) {
    k.allowed = allowed;
    return k;
  };
  static const section<L> s{
      {
          allowing(number_key<L>("rps", &rate_limit_config::rps, nullptr,
                                 "Failed verifications per second before 429 (with Retry-After) "
                                 "replaces 401."),
                   "> 0"),
          allowing(number_key<L>("burst", &rate_limit_config::burst, nullptr,
                                 "Failed verifications allowed at once above the steady rate."),
                   ">= 1"),
      },
      [](context& ctx, const item& it, const present_keys& present, bool clean, L& out) {
        if (!clean) {
          return;
        }
        if (present.count("burst") == 0 && present.count("rps") != 0) {
          out.burst = out.rps;
        }
        if (out.rps <= 0) {
          ctx.report(present.count("rps") != 0 ? present.at("rps") : it.line, join(it.path, "rps"),
                     "must be greater than 0");
        } else if (out.burst < 1) {
          ctx.report(present.count("burst") != 0 ? present.at("burst") : it.line,
                     join(it.path, "burst"), "must be at least 1");
        }
      }};
  return s;
}

const section<limits_config>& limits_section() {
  static const section<limits_config> s{
      {
          integer_key("events_per_webhook", &limits_config::events_per_webhook, 1, 100000,
                      "Events one webhook body may carry; a body with more gets 413 and nothing "
                      "of it is stored."),
          integer_key("conversations_per_tenant", &limits_config::conversations_per_tenant, 100,
                      10000000,
                      "Live conversation actors per tenant; past it the least recently used are "
                      "stopped (their state is durable)."),
          integer_key("sse_streams_per_token", &limits_config::sse_streams_per_token, 1, 100000,
                      "Concurrent GET /v1/stream connections per subscriber token; past it 429."),
          integer_key("quarantine_bytes_per_channel", &limits_config::quarantine_bytes_per_channel,
                      1024, 1099511627776LL,
                      "Bytes of quarantined (signed but unparseable) bodies kept per channel; past "
                      "it such bodies get 503 with Retry-After until an admin purges or "
                      "re-ingests some (/v1/quarantine)."),
          integer_key("privacy_workers", &limits_config::privacy_workers, 1, 64,
                      "Threads that run privacy jobs (export, erasure, platform deletion "
                      "requests)."),
          integer_key("privacy_queue", &limits_config::privacy_queue, 1, 100000,
                      "Privacy jobs waiting for a worker; past it 503 with Retry-After."),
          section_key("auth_failures_per_source", &limits_config::auth_failures_per_source,
                      failure_limit_section<source_failure_limit>),
          section_key("auth_failures_per_channel", &limits_config::auth_failures_per_channel,
                      failure_limit_section<channel_failure_limit>),
      },
      nullptr};
  return s;
}

const section<operator_config>& operator_section() {
  static const section<operator_config> s = [] {
    key_spec<operator_config> name;
    name.name = "name";
    name.allowed = "[a-z0-9][a-z0-9_-]*";
    name.description = "Unique; the audit log names the operator's calls \"operator:<name>\".";
    name.missing = "required";
    name.parse = [](context& ctx, const item& it, operator_config& out) {
      if (auto v = scalar(ctx, it)) {
        if (!is_name(*v, std::string::npos)) {
          ctx.report(it, "must match [a-z0-9][a-z0-9_-]* (got " + quote(*v) + ")");
        } else {
          out.name = *v;
        }
      }
    };

    key_spec<operator_config> token;
    token.name = "token_sha256";
    token.allowed = "64 hex characters";
    token.description =
        "SHA-256 (hex) of the operator's bearer token: every scope on every tenant, the tenant "
        "named with ?tenant=<id> (docs/console.md). No subscriber may hold the same token.";
    token.missing = "required";
    token.parse = [](context& ctx, const item& it, operator_config& out) {
      if (auto hex = token_digest(ctx, it, "a token belongs to one subscriber or operator")) {
        out.token_sha256 = std::move(*hex);
      }
    };
    return section<operator_config>{{name, token}, nullptr};
  }();
  return s;
}

const section<config>& root_section() {
  static const section<config> s = [] {
    key_spec<config> tenants;
    tenants.name = "tenants";
    tenants.missing = "at least one tenant is required";
    tenants.parse = [](context& ctx, const item& it, config& out) {
      parse_named_list(ctx, it, out.tenants, "tenant", "id", &tenant_config::id,
                       [](context& c, const item& el, tenant_config& t) {
                         auto present = parse_section(c, el, tenant_section(), t);
                         return present.count("id") != 0 ? present.at("id") : el.line;
                       });
      if (it.node.IsNull() || (it.node.IsSequence() && it.node.size() == 0)) {
        ctx.report(it, "at least one tenant is required");
      }
    };
    tenants.nested = [](const std::string& prefix, std::vector<key_info>& out) {
      document(tenant_section(), prefix + "[].", out);
    };

    key_spec<config> operators;
    operators.name = "operators";
    operators.default_text = "[]";
    operators.description =
        "People who run the gateway: an operator token works on every tenant (docs/console.md).";
    operators.parse = [](context& ctx, const item& it, config& out) {
      if (it.node.IsNull()) {
        return;
      }
      parse_named_list(ctx, it, out.operators, "operator", "name", &operator_config::name,
                       [](context& c, const item& el, operator_config& o) {
                         auto present = parse_section(c, el, operator_section(), o);
                         return present.count("name") != 0 ? present.at("name") : el.line;
                       });
    };
    operators.nested = [](const std::string& prefix, std::vector<key_info>& out) {
      document(operator_section(), prefix + "[].", out);
    };

    return section<config>{
        {
            section_key("server", &config::server, server_section),
            section_key("storage", &config::storage, storage_section),
            section_key("cluster", &config::cluster, cluster_section),
            section_key("log", &config::log, log_section),
            section_key("control_plane", &config::control_plane, control_plane_section),
            section_key("privacy", &config::privacy, privacy_defaults_section),
            section_key("limits", &config::limits, limits_section),
            tenants,
            operators,
        },
        // The global retention default reaches the tenants that do not set their own, whatever
        // the order of the keys in the file.
        [](context&, const item& it, const present_keys& present, bool clean, config& out) {
          if (!clean || present.count("privacy") == 0 || !it.node.IsMap()) {
            return;
          }
          const auto list = it.node["tenants"];
          if (!list || !list.IsSequence() || list.size() != out.tenants.size()) {
            return;
          }
          for (std::size_t i = 0; i < out.tenants.size(); ++i) {
            if (!sets_retention(list[i])) {
              out.tenants[i].privacy.retention_days = out.privacy.retention_days;
            }
          }
        }};
  }();
  return s;
}

std::vector<std::string> sorted_by_line(std::vector<problem> problems) {
  std::stable_sort(problems.begin(), problems.end(),
                   [](const problem& a, const problem& b) { return a.line < b.line; });
  std::vector<std::string> out;
  out.reserve(problems.size());
  for (auto& p : problems) {
    out.push_back(std::move(p.text));
  }
  return out;
}

/// Fills the derived settings (`setting_spec::derived`) of tenant `tenant_id`'s channel `ch`
/// from the root key.
void derive_channel_key(const std::string& root_key, const std::string& tenant_id,
                        channel_config& ch, const std::vector<channel_schema>& schemas) {
  auto schema = std::find_if(schemas.begin(), schemas.end(),
                             [&](const channel_schema& s) { return s.type == ch.type; });
  if (schema == schemas.end()) {
    return;
  }
  for (const auto& spec : schema->settings) {
    if (spec.derived) {
      ch.settings[spec.key] = crypto::to_hex(crypto::hmac_sha256(
          root_key, "channel-key:" + tenant_id + "/" + ch.name + "/" + spec.key));
    }
  }
}

/// Fills every channel's derived settings (`setting_spec::derived`) from the root key.
void derive_channel_keys(config& cfg, const std::vector<channel_schema>& schemas) {
  for (auto& t : cfg.tenants) {
    for (auto& ch : t.channels) {
      derive_channel_key(cfg.storage.root_key, t.id, ch, schemas);
    }
  }
}

/// Scans a JSON number (RFC 8259) from `pos` of `text`: where the scan stopped, and whether a
/// number ended there (when not, the position is the offending character's). The API body's
/// reader (`json_reader`) and the file's writer (`write_file_value`) both read numbers by it.
std::pair<std::size_t, bool> scan_json_number(std::string_view text, std::size_t pos) {
  auto at = [&](char c) { return pos < text.size() && text[pos] == c; };
  auto digits = [&] {
    const std::size_t from = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      ++pos;
    }
    return pos > from;
  };
  if (at('-')) {
    ++pos;
  }
  if (at('0')) {
    ++pos;
  } else if (!digits()) {
    return {pos, false};
  }
  if (at('.')) {
    ++pos;
    if (!digits()) {
      return {pos, false};
    }
  }
  if (at('e') || at('E')) {
    ++pos;
    if (at('+') || at('-')) {
      ++pos;
    }
    if (!digits()) {
      return {pos, false};
    }
  }
  return {pos, true};
}

/// Whether `text` is one JSON number, which a plain YAML scalar may be written as.
bool is_json_number(std::string_view text) {
  const auto [end, ok] = scan_json_number(text, 0);
  return ok && end == text.size();
}

/// One value of the file as JSON, for `tenant_config::file_object`: mappings as objects, lists
/// as arrays, a key with no value as null (which a body means as the file does), scalars as
/// the loader expands them, a literal `${` written `$${` (what an API body reads as `${`). A plain
/// scalar that reads as a JSON number or boolean stays one; `parse_*_object` reads both forms
/// alike. Only called on a file that loaded without problems.
void write_file_value(context& ctx, const item& it, json::writer& w) {
  if (it.node.IsMap()) {
    w.begin_object();
    for (const auto& kv : it.node) {
      w.key(kv.first.Scalar());
      write_file_value(ctx, item{kv.second, it.path, it.line}, w);
    }
    w.end_object();
    return;
  }
  if (it.node.IsSequence()) {
    w.begin_array();
    for (const auto& el : it.node) {
      write_file_value(ctx, item{el, it.path, it.line}, w);
    }
    w.end_array();
    return;
  }
  if (it.node.IsNull()) {
    w.null();
    return;
  }
  const std::string text = expand(ctx, it, it.node.Scalar(), "").value_or("");
  if (it.node.Tag() == "?" && (text == "true" || text == "false" || is_json_number(text))) {
    w.raw(text);
    return;
  }
  std::string escaped;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "${") == 0) {
      escaped += '$';
    }
    escaped += text[i];
  }
  w.value(escaped);
}

load_result load(const std::string& yaml_text, const std::string& source,
                 const std::vector<channel_schema>& schemas) {
  context ctx;
  ctx.source = source;
  ctx.schemas = &schemas;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    // e.msg describes the grammar problem only; what() would repeat the position.
    const int line = e.mark.line >= 0 ? e.mark.line + 1 : 1;
    ctx.report(line, "",
               "invalid YAML: " + e.msg + " (column " + std::to_string(e.mark.column + 1) + ")");
    return {nullptr, {sorted_by_line(std::move(ctx.problems))}};
  }
  auto cfg = std::make_shared<config>();
  cfg->source = source;
  const item top{root, "", line_of(root, 1)};
  if (!root.IsMap() && !root.IsNull()) {
    ctx.report(top, "the file must be a mapping with the keys server, storage and tenants");
  } else {
    const auto present = parse_section(ctx, top, root_section(), *cfg);
    if (present.count("storage") == 0) {
      ctx.report(top.line, "storage.master_key",
                 std::string("missing secret; ") + k_master_key_hint);
    }
  }
  if (!ctx.problems.empty()) {
    return {nullptr, {sorted_by_line(std::move(ctx.problems))}};
  }
  cfg->storage.root_key = cfg->storage.master_key;
  derive_channel_keys(*cfg, schemas);
  if (cfg->control_plane.manage_file_tenants) {
    const auto list = root["tenants"];
    for (std::size_t i = 0; i < cfg->tenants.size() && i < list.size(); ++i) {
      json::writer w(cfg->tenants[i].file_object);
      write_file_value(ctx, item{list[i], "tenants", top.line}, w);
    }
  }
  return {std::move(cfg), {}};
}

// -- API bodies ----------------------------------------------------------------------------

constexpr int k_max_body_depth = 32;         // a valid tenant nests 5 levels (push retries)
constexpr std::size_t k_max_body_key = 256;  // yaml-cpp reads no flow key past 1024 characters

/// Checks that a body is one JSON text (RFC 8259: UTF-8, no YAML beyond JSON) and rewrites it
/// for yaml-cpp, which reads JSON as YAML flow syntax but for three things: a surrogate pair
/// escape ("\ud83d\ude00", as Python's json.dumps writes emoji) becomes one \UXXXXXXXX escape,
/// white space between a key and its ':' moves after the ':' (YAML wants them on one line), and
/// a lone '\r' becomes '\n'. Every key and value keeps its line, so the loader's lines are the
/// body's. Nesting is bounded (yaml-cpp recurses per level) and so is a key's length (yaml-cpp
/// refuses long flow keys). Checked against Python's json module on mutated bodies.
class json_reader {
 public:
  explicit json_reader(const std::string& text) : in_(text) {}

  /// The text for yaml-cpp, or nullopt with `problem()` set.
  std::optional<std::string> read() {
    space();
    if (!value(1)) {
      return std::nullopt;
    }
    space();
    if (pos_ != in_.size()) {
      fail("unexpected text after the JSON value");
      return std::nullopt;
    }
    return std::move(out_);
  }

  /// "invalid JSON at line L, column C: <what>".
  const std::string& problem() const { return problem_; }

 private:
  bool at_end() const { return pos_ >= in_.size(); }
  unsigned char peek() const { return static_cast<unsigned char>(in_[pos_]); }

  bool fail(const std::string& what) {
    problem_ = "invalid JSON at line " + std::to_string(line_) + ", column " +
               std::to_string(pos_ - line_start_ + 1) + ": " + what;
    return false;
  }

  /// JSON's white space. Every line break is written as '\n': yaml-cpp stumbles on a lone '\r'.
  void space() {
    while (!at_end()) {
      const char c = in_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        return;
      }
      ++pos_;
      if (c == '\r' && !at_end() && in_[pos_] == '\n') {
        continue;  // the '\n' of "\r\n" is the break
      }
      out_ += c == '\r' ? '\n' : c;
      if (c == '\n' || c == '\r') {
        ++line_;
        line_start_ = pos_;
      }
    }
  }

  bool value(int depth) {
    space();
    if (at_end()) {
      return fail("expected a value, found the end");
    }
    const unsigned char c = peek();
    if (c == '{' || c == '[') {
      if (depth > k_max_body_depth) {
        return fail("nested deeper than " + std::to_string(k_max_body_depth) + " levels");
      }
      return c == '{' ? object(depth) : array(depth);
    }
    if (c == '"') {
      return string(false);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      return number();
    }
    for (const char* word : {"true", "false", "null"}) {
      if (in_.compare(pos_, std::strlen(word), word) == 0) {
        out_ += word;
        pos_ += std::strlen(word);
        return true;
      }
    }
    if (c >= 0x21 && c <= 0x7e) {
      return fail(std::string("unexpected character '") + static_cast<char>(c) + "'");
    }
    return fail("unexpected byte 0x" + crypto::to_hex(&c, 1));
  }

  bool object(int depth) {
    out_ += in_[pos_++];
    space();
    if (!at_end() && in_[pos_] == '}') {
      out_ += in_[pos_++];
      return true;
    }
    for (;;) {
      space();
      if (at_end() || in_[pos_] != '"') {
        return fail("expected a key in double quotes");
      }
      if (!string(true)) {
        return false;
      }
      // YAML wants an implicit key and its ':' on one line: white space between them (line
      // breaks included, so lines stay) moves after the ':'.
      const auto key_end = out_.size();
      space();
      if (at_end() || in_[pos_] != ':') {
        return fail("expected ':' after the key");
      }
      const std::string gap = out_.substr(key_end);
      out_.resize(key_end);
      out_ += in_[pos_++];
      out_ += gap;
      if (!value(depth + 1)) {
        return false;
      }
      space();
      if (!at_end() && (in_[pos_] == ',' || in_[pos_] == '}')) {
        const char c = in_[pos_];
        out_ += in_[pos_++];
        if (c == '}') {
          return true;
        }
        continue;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool array(int depth) {
    out_ += in_[pos_++];
    space();
    if (!at_end() && in_[pos_] == ']') {
      out_ += in_[pos_++];
      return true;
    }
    for (;;) {
      if (!value(depth + 1)) {
        return false;
      }
      space();
      if (!at_end() && (in_[pos_] == ',' || in_[pos_] == ']')) {
        const char c = in_[pos_];
        out_ += in_[pos_++];
        if (c == ']') {
          return true;
        }
        continue;
      }
      return fail("expected ',' or ']'");
    }
  }

  /// Four hex digits at `at`, or nullopt.
  std::optional<unsigned> hex4(std::size_t at) const {
    if (at + 4 > in_.size()) {
      return std::nullopt;
    }
    unsigned v = 0;
    for (std::size_t i = at; i < at + 4; ++i) {
      const int d = crypto::hex_digit(in_[i]);
      if (d < 0) {
        return std::nullopt;
      }
      v = v * 16 + static_cast<unsigned>(d);
    }
    return v;
  }

  /// The length of the UTF-8 sequence at `pos_` (RFC 3629: no overlong form, no surrogate), or
  /// 0 when it is not one.
  std::size_t utf8_length() const {
    const unsigned char c = peek();
    std::size_t n = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      lo = c == 0xe0 ? 0xa0 : 0x80;
      hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      lo = c == 0xf0 ? 0x90 : 0x80;
      hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
      return 0;
    }
    if (pos_ + n > in_.size()) {
      return 0;
    }
    for (std::size_t i = 1; i < n; ++i) {
      const auto b = static_cast<unsigned char>(in_[pos_ + i]);
      if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf)) {
        return 0;
      }
    }
    return n;
  }

  bool string(bool key) {
    const std::size_t start = pos_;
    out_ += in_[pos_++];
    for (;;) {
      if (at_end()) {
        return fail("unterminated string");
      }
      const unsigned char c = peek();
      if (c == '"') {
        out_ += in_[pos_++];
        break;
      }
      if (c < 0x20) {
        return fail("a control character in a string (write it as an escape such as \\n)");
      }
      if (c >= 0x80) {
        const auto n = utf8_length();
        if (n == 0) {
          return fail("invalid UTF-8");
        }
        out_.append(in_, pos_, n);
        pos_ += n;
        continue;
      }
      if (c != '\\') {
        out_ += in_[pos_++];
        continue;
      }
      if (pos_ + 1 >= in_.size() || in_[pos_ + 1] == '\0' ||
          std::strchr("\"\\/bfnrtu", in_[pos_ + 1]) == nullptr) {
        return fail("invalid escape in a string");
      }
      if (in_[pos_ + 1] != 'u') {
        out_.append(in_, pos_, 2);
        pos_ += 2;
        continue;
      }
      const auto unit = hex4(pos_ + 2);
      if (!unit) {
        return fail("\\u must be followed by 4 hex digits");
      }
      if (*unit < 0xd800 || *unit > 0xdfff) {
        out_.append(in_, pos_, 6);
        pos_ += 6;
        continue;
      }
      const auto low =
          *unit <= 0xdbff && in_.compare(pos_ + 6, 2, "\\u") == 0 ? hex4(pos_ + 8) : std::nullopt;
      if (!low || *low < 0xdc00 || *low > 0xdfff) {
        return fail("a \\u escape of half a surrogate pair");
      }
      const unsigned code = 0x10000 + ((*unit - 0xd800) << 10) + (*low - 0xdc00);
      char escape[11];
      std::snprintf(escape, sizeof escape, "\\U%08X", code);
      out_ += escape;
      pos_ += 12;
    }
    if (key && pos_ - start - 2 > k_max_body_key) {
      pos_ = start;
      return fail("a key longer than " + std::to_string(k_max_body_key) + " characters");
    }
    return true;
  }

  bool number() {
    const std::size_t start = pos_;
    const auto [end, ok] = scan_json_number(in_, pos_);
    pos_ = end;
    if (!ok) {
      return fail("invalid number");
    }
    out_.append(in_, start, pos_ - start);
    return true;
  }

  const std::string& in_;
  std::string out_;
  std::size_t pos_ = 0;
  int line_ = 1;
  std::size_t line_start_ = 0;
  std::string problem_;
};

/// The JSON name of the kind of value starting with `c`.
const char* json_kind(char c) {
  switch (c) {
    case '[':
      return "an array";
    case '"':
      return "a string";
    case 't':
    case 'f':
      return "a boolean";
    case 'n':
      return "null";
    default:
      return "a number";
  }
}

constexpr const char* k_body_object = "the body must be a JSON object";

/// A body's root node, or nullopt with the one problem (pointer "") that says why there is none.
std::optional<YAML::Node> read_body(const std::string& json,
                                    std::vector<object_problem>& problems) {
  const auto first = json.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    problems.push_back({"", std::string(k_body_object) + " (it is empty)"});
    return std::nullopt;
  }
  json_reader reader(json);
  auto text = reader.read();
  if (!text) {
    problems.push_back({"", std::string(k_body_object) + " (" + reader.problem() + ")"});
    return std::nullopt;
  }
  if (json[first] != '{') {
    problems.push_back({"", std::string(k_body_object) + ", not " + json_kind(json[first])});
    return std::nullopt;
  }
  try {
    return YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    // Not expected: the text is JSON, which YAML's flow syntax covers once rewritten.
    problems.push_back({"", std::string(k_body_object) + " (" + e.msg + ")"});
    return std::nullopt;
  }
}

/// RFC 6901: '~' is written "~0" and '/' "~1".
std::string pointer_token(std::string_view key) {
  std::string out;
  for (const char c : key) {
    out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  }
  return out;
}

/// Appends the JSON pointer of the loader's key path `rest` (keys joined with '.', list
/// indexes as "[i]") below `node`. Keys are matched against the keys `node` has, so a key that
/// holds '.' or '[' (an unknown one) is still one token; below the body's nodes (a required key
/// that is missing) the path splits at '.' and '['. `node` is null there.
void append_pointer(const YAML::Node* node, std::string_view rest, std::string& out) {
  if (rest.empty()) {
    return;
  }
  const bool in_list = node == nullptr || node->IsSequence();
  if (rest[0] == '[' && in_list) {
    const auto close = rest.find(']');
    auto index = close == std::string_view::npos
                     ? std::nullopt
                     : to_integer(std::string(rest.substr(1, close - 1)));
    if (index && *index >= 0) {
      out += "/" + std::to_string(*index);
      rest.remove_prefix(close + 1);
      if (!rest.empty() && rest[0] == '.') {
        rest.remove_prefix(1);
      }
      if (node != nullptr && static_cast<std::size_t>(*index) < node->size()) {
        const YAML::Node child = (*node)[static_cast<std::size_t>(*index)];
        append_pointer(&child, rest, out);
      } else {
        append_pointer(nullptr, rest, out);
      }
      return;
    }
  }
  std::optional<YAML::Node> child;
  std::size_t length = 0;
  if (node != nullptr && node->IsMap()) {
    for (const auto& kv : *node) {
      if (!kv.first.IsScalar()) {
        continue;
      }
      const std::string& key = kv.first.Scalar();
      const bool ends =
          rest.size() == key.size() ||
          (rest.size() > key.size() && (rest[key.size()] == '.' || rest[key.size()] == '['));
      if (ends && rest.compare(0, key.size(), key) == 0 && (!child || key.size() > length)) {
        child.emplace(kv.second);
        length = key.size();
      }
    }
  }
  if (!child) {
    length = std::min(rest.find_first_of(".[", 1), rest.size());
  }
  out += "/" + pointer_token(rest.substr(0, length));
  rest.remove_prefix(length);
  if (!rest.empty() && rest[0] == '.') {
    rest.remove_prefix(1);
  }
  append_pointer(child ? &*child : nullptr, rest, out);
}

/// The problems of `ctx`, each with its pointer into `root`, in the order of their lines.
std::vector<object_problem> object_problems(context& ctx, const YAML::Node& root) {
  std::stable_sort(ctx.problems.begin(), ctx.problems.end(),
                   [](const problem& a, const problem& b) { return a.line < b.line; });
  std::vector<object_problem> out;
  for (const auto& p : ctx.problems) {
    std::string pointer;
    append_pointer(&root, p.path, pointer);
    out.push_back({std::move(pointer), p.message});
  }
  return out;
}

/// A context for an API body: the environment is not read, and what `taken` holds is taken.
context body_context(const claims& taken, const std::vector<channel_schema>& schemas) {
  context ctx;
  ctx.source = "<api>";
  ctx.schemas = &schemas;
  ctx.read_env = false;
  ctx.taken = &taken;
  return ctx;
}

/// The line of `root`'s key `key`, which is given.
int key_line(const YAML::Node& root, const std::string& key) {
  for (const auto& kv : root) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) {
      return line_of(kv.first, 1);
    }
  }
  return line_of(root, 1);
}

/// Runs `parse(ctx, root)` on an API body, which fills `out.value` when `ctx` has no problem;
/// never throws.
template <class T, class Parse>
object_result<T> parse_object(const std::string& json, context ctx, Parse parse) {
  object_result<T> out;
  try {
    auto root = read_body(json, out.problems);
    if (!root) {
      return out;
    }
    T value;
    parse(ctx, *root, value);
    if (!ctx.problems.empty()) {
      out.problems = object_problems(ctx, *root);
      return out;
    }
    out.value = std::move(value);
  } catch (const std::exception& e) {
    // Not expected (the parsers report instead of throwing), as in `load_string`.
    out.value.reset();
    out.problems = {{"", std::string("internal error while reading the body: ") + e.what()}};
  }
  return out;
}

}  // namespace

claims::claims(const config& running, const tenant_config* in_place_of) {
  for (const auto& t : running.tenants) {
    if (in_place_of == nullptr || t.id != in_place_of->id) {
      add(t);
    }
  }
  if (in_place_of != nullptr) {
    add(*in_place_of);
  }
  for (const auto& o : running.operators) {
    tokens_.emplace(o.token_sha256, "operator " + quote(o.name));
  }
}

void claims::add(const tenant_config& t) {
  tenants_.insert(t.id);
  for (const auto& s : t.subscribers) {
    if (!s.token_sha256.empty()) {
      tokens_.emplace(s.token_sha256, "subscriber " + quote(s.name) + " of tenant " + quote(t.id));
    }
  }
}

const std::string* claims::holder(const std::string& token_sha256) const {
  auto it = tokens_.find(token_sha256);
  return it == tokens_.end() ? nullptr : &it->second;
}

object_result<tenant_config> parse_tenant_object(const std::string& json, const config& running,
                                                 const std::vector<channel_schema>& schemas) {
  return parse_tenant_object(json, running, claims(running), schemas);
}

object_result<tenant_config> parse_tenant_object(const std::string& json, const config& running,
                                                 const claims& taken,
                                                 const std::vector<channel_schema>& schemas) {
  return parse_object<tenant_config>(
      json, body_context(taken, schemas),
      [&](context& ctx, const YAML::Node& root, tenant_config& t) {
        const auto present =
            parse_section(ctx, item{root, "", line_of(root, 1)}, tenant_section(), t);
        if (!t.id.empty() && taken.has_tenant(t.id)) {
          ctx.report(present.at("id"), "id",
                     "duplicate tenant id " + quote(t.id) + " (already in use)");
        }
        // As the file's top-level privacy.retention_days reaches the tenants that do not set it.
        if (!sets_retention(root)) {
          t.privacy.retention_days = running.privacy.retention_days;
        }
        if (ctx.problems.empty()) {
          for (auto& ch : t.channels) {
            derive_channel_key(running.storage.root_key, t.id, ch, schemas);
          }
        }
      });
}

object_result<channel_config> parse_channel_object(const std::string& json,
                                                   const tenant_config& tenant,
                                                   const config& running,
                                                   const std::vector<channel_schema>& schemas) {
  const claims taken(running, &tenant);
  return parse_object<channel_config>(
      json, body_context(taken, schemas),
      [&](context& ctx, const YAML::Node& root, channel_config& ch) {
        parse_channel(ctx, item{root, "", line_of(root, 1)}, ch);
        if (!ch.name.empty() && tenant.find_channel(ch.name) != nullptr) {
          ctx.report(key_line(root, "name"), "name",
                     "duplicate channel name " + quote(ch.name) + " (already in use in tenant " +
                         quote(tenant.id) + ")");
        }
        if (ctx.problems.empty()) {
          derive_channel_key(running.storage.root_key, tenant.id, ch, schemas);
        }
      });
}

object_result<subscriber_config> parse_subscriber_object(
    const std::string& json, const tenant_config& tenant, const config& running,
    const std::vector<channel_schema>& schemas) {
  const claims taken(running, &tenant);
  return parse_object<subscriber_config>(
      json, body_context(taken, schemas),
      [&](context& ctx, const YAML::Node& root, subscriber_config& sub) {
        const auto present =
            parse_section(ctx, item{root, "", line_of(root, 1)}, subscriber_section(), sub);
        const bool taken =
            std::any_of(tenant.subscribers.begin(), tenant.subscribers.end(),
                        [&](const subscriber_config& s) { return s.name == sub.name; });
        if (!sub.name.empty() && taken) {
          ctx.report(present.at("name"), "name",
                     "duplicate subscriber name " + quote(sub.name) +
                         " (already in use in tenant " + quote(tenant.id) + ")");
        }
      });
}

void set_root_key(config& cfg, const std::string& root_key,
                  const std::vector<channel_schema>& schemas) {
  cfg.storage.root_key = root_key;
  derive_channel_keys(cfg, schemas);
}

std::string load_error::to_string() const {
  std::string out;
  for (const auto& p : problems) {
    out += p + "\n";
  }
  return out;
}

load_result load_string(const std::string& yaml_text, const std::string& source,
                        const std::vector<channel_schema>& schemas) {
  try {
    return load(yaml_text, source, schemas);
  } catch (const std::exception& e) {
    // Not expected (the parsers above report instead of throwing); kept so start-up always
    // gets a message rather than an exception.
    return {nullptr, {{source + ":1: internal error while loading the config: " + e.what()}}};
  }
}

std::string listen_problem(const std::string& host_port) {
  return validate_listen(host_port);
}

load_result load_file(const std::string& path, const std::vector<channel_schema>& schemas) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return {nullptr, {{path + ":1: cannot read the config file: it is a directory"}}};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return {nullptr, {{path + ":1: cannot read the config file: " + std::strerror(err)}}};
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return {nullptr, {{path + ":1: cannot read the config file"}}};
  }
  return load_string(text.str(), path, schemas);
}

const std::vector<key_info>& declared_keys() {
  static const std::vector<key_info> keys = [] {
    std::vector<key_info> out;
    document(root_section(), "", out);
    return out;
  }();
  return keys;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace sb::config
