#pragma once

// What the control plane keeps of a tenant it defines (docs/control-plane.md): the bodies the API
// was given, merged with later PATCHes, and the little it adds (when each secret was set, which
// previous secrets are still accepted and until when). The bodies are the config file's own
// mappings in JSON, so composing the tenant is `config::parse_tenant_object` of
// `tenant_json(doc)`: the same rules, defaults and derived keys as the file. Pure code.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"

namespace sb::control {

/// `unix_ms` as RFC 3339 with milliseconds (the API's times: set_at, created_at, …).
std::string rfc3339(std::int64_t unix_ms);

/// RFC 7396 JSON merge patch of two JSON texts: `patch`'s members replace `target`'s (objects
/// merged member by member, recursively), a `null` member removes one, and a `patch` that is not
/// an object replaces `target` whole. `target` may be "" (nothing). Both must be valid JSON
/// (the caller has parsed them); the result is minified, members in `target`'s order with new
/// ones appended.
std::string merge_patch(std::string_view target, std::string_view patch);

/// A member's value as minified JSON text, or nullopt when `object` is not a JSON object or has
/// no such member.
std::optional<std::string> member(std::string_view object, std::string_view name);

/// The string value of a member, or nullopt when absent or not a string.
std::optional<std::string> string_member(std::string_view object, std::string_view name);

/// The member names of a JSON object, in order; empty for anything else.
std::vector<std::string> member_names(std::string_view object);

/// True when `text` is one JSON object (RFC 8259).
bool is_object(std::string_view text);

struct channel_entry {
  std::string name;
  std::string body;  ///< {"name","type",<the type's settings>}: a `channels:` element
  /// Secret setting -> when it was last set (Unix ms).
  std::map<std::string, std::int64_t> secret_set_at;
  /// Secret setting -> until when its `<key>_previous` (in `body`) is still accepted (Unix ms).
  std::map<std::string, std::int64_t> previous_until;
};

struct subscriber_entry {
  std::string name;
  std::string body;  ///< a `subscribers:` element, with `token_sha256`, never the token
  std::int64_t created_at_ms = 0;
  std::int64_t token_set_at_ms = 0;
};

struct tenant_document {
  std::string id;
  std::string body;  ///< the tenant's own members: {"id", "rate_limit", "privacy"}
  std::vector<channel_entry> channels;
  std::vector<subscriber_entry> subscribers;
  /// Channels deleted since the tenant was created: a tenant's deletion erases their subjects too.
  std::vector<std::string> former_channels;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  /// The config file the tenant was imported from (`control_plane.manage_file_tenants`); ""
  /// for a tenant created by API.
  std::string imported_from;

  channel_entry* find_channel(const std::string& name);
  subscriber_entry* find_subscriber(const std::string& name);
};

/// The stored form (store/definitions.hpp), and back. `parse_document` refuses what
/// `to_json` did not write (`errc::internal`, naming the tenant).
std::string to_json(const tenant_document& d);
result<tenant_document> parse_document(std::string_view json);

/// A tenant of the config file taken over by the control plane
/// (`control_plane.manage_file_tenants`): `object` is its `config::tenant_config::file_object`,
/// `source` the file's name. Its own members become `body` and each element of "channels" and
/// "subscribers" an entry, as if the API had created them at `now_ms`: every secret given is set
/// then, and a `K_previous` the file gives is accepted until `now_ms + grace_ms`, as the previous
/// secret of one changed by API is.
tenant_document imported_document(std::string_view object,
                                  const std::vector<config::channel_schema>& schemas,
                                  std::int64_t now_ms, std::int64_t grace_ms, std::string source);

/// The tenant as one `tenants:` element: `body` with "channels" and "subscribers" arrays of the
/// entries' bodies, in order. A channel's `<key>_previous` whose grace ended by `now_ms` is left
/// out (the previous secret is no longer accepted).
std::string tenant_json(const tenant_document& d, std::int64_t now_ms);

/// The earliest end of a grace after `now_ms` (Unix ms), or nullopt when none is running.
std::optional<std::int64_t> next_grace_end(const tenant_document& d, std::int64_t now_ms);

/// The settings of `type` that are secrets the API writes (`setting_spec::secret`, not derived):
/// never returned, only marked as set.
std::vector<std::string> writable_secrets(const std::vector<config::channel_schema>& schemas,
                                          const std::string& type);

/// A channel as the API shows it: its body with every secret replaced by
/// {"set":true,"set_at":"<RFC 3339>"} and no `<key>_previous` (but "previous_until" for a
/// secret in its grace).
std::string redacted_channel(const channel_entry& c,
                             const std::vector<config::channel_schema>& schemas);

/// A subscriber as the API shows it: its body without `token_sha256` (a "token" marker
/// {"set":true,"set_at"} instead) and with `push.secret` marked as a channel's secret is.
std::string redacted_subscriber(const subscriber_entry& s);

}  // namespace sb::control
