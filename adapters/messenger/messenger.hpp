#pragma once

#include <cstdint>
#include <optional>

#include "adapters/adapter.hpp"

namespace sb::adapters::messenger {

/// The messenger platform: its config schema, the headers it reads, its factory, its outbound
/// side and its receipts.
adapter_info info();

/// Messenger's `delivery` / `read` receipts are watermarks (Unix ms: every message sent up to it
/// was delivered / read). The parser records the watermark in the dedupe key
/// ("read:<psid>:<ms>", "dlv:<psid>:<ms>"); without one the event's time stands in for a receipt
/// that names no message. nullopt for an event that is no `status` or names its message.
std::optional<std::int64_t> receipt_watermark(const event& e);

}  // namespace sb::adapters::messenger
