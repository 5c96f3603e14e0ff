#pragma once

#include <memory>

#include "adapters/adapter.hpp"

/// E-mail sends through SMTP (libcurl's smtp:// and smtps://). Reached through `email::info()`.
namespace sb::adapters::email {

/// The channel's SMTP settings (`smtp_url`, `smtp_user`, `smtp_password`, `from`) and the
/// outbound keys every sending type declares, added to `schema`.
void add_smtp_settings(config::channel_schema& schema);

/// A channel's sending side; nullptr while the channel has no `smtp_url` (receive only).
std::shared_ptr<const outbound_channel> make_sender(const config::channel_config& cfg);

}  // namespace sb::adapters::email
