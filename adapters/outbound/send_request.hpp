#pragma once

#include <string_view>

#include "adapters/outbound/message.hpp"
#include "core/error.hpp"

/// The strict parser of the POST /v1/messages body (docs/outbound.md). Pure: no I/O, no global
/// state, callable from any thread; results own their strings.
namespace sb::adapters {

/// The parsed body of POST /v1/messages. `message` has `channel`, `to` and `conversation` set
/// (from `conversation`, or from `channel` + `to`) and the content; `id`, `tenant`,
/// `channel_type`, `idempotency_key` and `created_at` are left for the gateway.
struct outbound_request_body {
  outbound_message message;
};

/// Parses the POST /v1/messages body strictly (simdjson). Accepted members: `conversation` |
/// (`channel` + `to`), `purpose`, `text`, `media`, `template`, `keyboard`, `quick_replies`,
/// `messaging_type`, `tag`, `reply_to`; see docs/outbound.md for their shapes. Unknown members,
/// wrong types, both or neither of the targets, nothing to send, text longer than any platform
/// takes (4096 characters), a bad `purpose` and malformed sub-objects yield `errc::bad_request`
/// with a message naming the field, e.g. "field 'purpose' must be support or marketing".
/// Platform-specific rules need the channel and are checked by `validate`
/// (adapters/outbound.hpp).
result<outbound_request_body> parse_send_request(std::string_view json);

}  // namespace sb::adapters
