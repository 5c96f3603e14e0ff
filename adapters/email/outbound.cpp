#include "adapters/email/outbound.hpp"

namespace sb::adapters::email {

void add_smtp_settings(config::channel_schema&) {}

std::shared_ptr<const outbound_channel> make_sender(const config::channel_config&) {
  return nullptr;
}

}  // namespace sb::adapters::email
