#pragma once

#include <string>
#include <string_view>

#include "adapters/outbound/message.hpp"
#include "core/error.hpp"

/// The outbox record of an outbound message: its codec. Pure, callable from any thread.
namespace sb::adapters {

/// The outbox record: every member of `outbound_message` as one JSON object (template
/// components embedded as JSON). `outbound_from_json(to_json(m))` equals `m`.
std::string to_json(const outbound_message& m);

/// Reads what `to_json` wrote. `errc::malformed_body` when the text is not such a record.
result<outbound_message> outbound_from_json(std::string_view json);

}  // namespace sb::adapters
