#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/config.hpp"

namespace sb::config {

/// Every problem found in one pass, each rendered `<file>:<line>: <key>: <problem>`.
struct load_error {
  std::vector<std::string> problems;
  std::string to_string() const;  ///< one problem per line
};

struct load_result {
  std::shared_ptr<const config> cfg;  ///< null when `errors` is non-empty
  load_error errors;
  bool ok() const { return cfg != nullptr; }
};

/// Parses and validates YAML text. `source` names the file in messages. `schemas` declares the
/// channel types (from `adapters::schemas()`); `${VAR}` and `${VAR:-default}` are read through
/// `getenv`. Never throws: YAML syntax errors are reported with their line too.
load_result load_string(const std::string& yaml_text, const std::string& source,
                        const std::vector<channel_schema>& schemas);

/// Reads a file and calls `load_string`; an unreadable file is one problem.
load_result load_file(const std::string& path, const std::vector<channel_schema>& schemas);

/// Sets `storage.root_key` (the store's, store/root_key.hpp: 32 raw bytes) and derives every
/// channel's derived settings from it again, as `load_string` did from the master key.
void set_root_key(config& cfg, const std::string& root_key,
                  const std::vector<channel_schema>& schemas);

/// One problem of an object given by API (issue 17's control plane): where it is and what the
/// config file would have said about that key.
struct object_problem {
  /// RFC 6901 JSON pointer into the body: "/channels/0/secret_token", "/privacy/redact/1";
  /// "" (the root) for a problem of the whole body ("the body must be a JSON object", a
  /// subscriber with neither token nor push). A required key that is missing is pointed at
  /// where it belongs ("/channels/0/verify_token").
  std::string pointer;
  /// The loader's own message for that key, without "file:line: path: " ("missing secret").
  /// Messages that cite a line ("duplicate key (first at line 3)") mean the body's lines; a
  /// clash with the running config names what holds the id, name or token instead ("duplicate
  /// tenant id 'acme' (already in use)", "same token as subscriber 'desk' of tenant 'acme'; a
  /// token belongs to one subscriber").
  std::string message;
};

/// What `parse_*_object` made of a body: the object, or every problem found (never both).
template <class T>
struct object_result {
  std::optional<T> value;                ///< set exactly when `problems` is empty
  std::vector<object_problem> problems;  ///< in the order of the body's lines
  bool ok() const { return value.has_value(); }
};

/// What a running config holds that an API body may not take again (the rules that span the
/// file): its tenant ids, and each subscriber's and operator's token_sha256 with who holds it.
/// `parse_*_object` without one build it from `running`, which costs O(running) per call; code
/// that checks many bodies against one growing config (the control plane composing 10,000
/// stored tenants) builds it once and adds each tenant it accepts.
class claims {
 public:
  claims() = default;
  /// Every tenant of `running` and every operator; with `in_place_of`, that tenant instead of
  /// `running`'s of the same id (a tenant with a subscriber or channel taken out).
  explicit claims(const config& running, const tenant_config* in_place_of = nullptr);
  /// `t`'s id and its subscribers' tokens are taken from now on.
  void add(const tenant_config& t);
  bool has_tenant(const std::string& id) const { return tenants_.count(id) != 0; }
  /// Who holds the token ("subscriber 'desk' of tenant 'acme'", "operator 'ops'"), or nullptr.
  const std::string* holder(const std::string& token_sha256) const;

 private:
  std::unordered_set<std::string> tenants_;
  std::unordered_map<std::string, std::string> tokens_;
};

/// A tenant given by API: `json` is one JSON object, the same mapping as one element of the
/// file's `tenants:` list (id, rate_limit, privacy, channels, subscribers), read by the file's
/// key tables with the file's defaults and messages, every problem at once. The rules that span
/// the file hold against `running` too: an id it already has is a problem at "/id", a token any
/// of its subscribers or operators holds is the file's "same token as ..." problem. A tenant
/// that does not set privacy.retention_days gets `running.privacy.retention_days`; derived
/// channel keys (`setting_spec::derived`) come from `running.storage.root_key`, as the loader
/// fills them, and giving one is the file's problem. Unlike the file, `${VAR}` is not expanded:
/// a reference is a problem (the body never reads the gateway's environment); `$${` still
/// stands for a literal `${`. A body that is not one JSON object (RFC 8259, UTF-8, nested at
/// most 32 deep) is one problem at "". Channels' `source` is "<api>:<line>". To check a
/// replacement (PATCH), pass a `running` without the object replaced. Pure (no I/O, no
/// environment, no global state: callable from several threads at once); never throws.
object_result<tenant_config> parse_tenant_object(const std::string& json, const config& running,
                                                 const std::vector<channel_schema>& schemas);
/// The same, with `taken` standing for what `running` holds (ids, tokens); `running` still gives
/// the globals (root key, retention default).
object_result<tenant_config> parse_tenant_object(const std::string& json, const config& running,
                                                 const claims& taken,
                                                 const std::vector<channel_schema>& schemas);

/// A channel of `tenant` given by API: one element of a tenant's `channels:` (name, type and
/// that type's settings), as `parse_tenant_object` reads them; a name `tenant` already has is
/// a problem at "/name", and derived keys are filled for `tenant.id`. `tenant` stands for
/// `running`'s tenant of that id.
object_result<channel_config> parse_channel_object(const std::string& json,
                                                   const tenant_config& tenant,
                                                   const config& running,
                                                   const std::vector<channel_schema>& schemas);

/// A subscriber of `tenant` given by API: one element of a tenant's `subscribers:`, as
/// `parse_tenant_object` reads them; a name `tenant` already has is a problem at "/name", and a
/// token_sha256 that a subscriber of another tenant of `running`, of `tenant` or an operator
/// holds is the file's "same token as ..." problem at "/token_sha256". `tenant` stands for
/// `running`'s tenant of that id: to check a replacement, pass the tenant without the subscriber
/// replaced (its token is then free for the replacement).
object_result<subscriber_config> parse_subscriber_object(
    const std::string& json, const tenant_config& tenant, const config& running,
    const std::vector<channel_schema>& schemas);

/// The check of `server.listen` (host:port, port 0..65535, IPv6 in brackets), for the command
/// line's `--listen`: "" when `host_port` is valid, else the problem.
std::string listen_problem(const std::string& host_port);

/// The case-insensitive Levenshtein distance of `a` and `b`: how "did you mean" hints pick the
/// closest known key (here and in the load tester's scenario errors).
std::size_t edit_distance(const std::string& a, const std::string& b);

/// The example config compiled into the binary (config/switchboard.example.yaml).
const std::string& embedded_default();

}  // namespace sb::config
