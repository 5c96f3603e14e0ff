// The POST /v1/messages body parser (adapters/outbound.hpp), then, for every adapter of the
// registry that sends, what the gateway does with an accepted body: defaults, validation and
// the platform request the encoder builds.
//
// Input: the raw request body.
//
// Properties checked besides memory safety:
// - an accepted message survives the outbox record: to_json(outbound_from_json(to_json(m)))
//   is to_json(m), and the record is valid JSON;
// - every platform request that declares a JSON body has a valid JSON body;
// - `apply_defaults` is idempotent.

#include <string>

#include "adapters/adapter.hpp"
#include "adapters/outbound.hpp"
#include "common.hpp"

namespace {

using namespace sb;

struct sender {
  const adapters::adapter_info* info;
  config::channel_config channel;
  std::shared_ptr<const adapters::outbound_channel> outbound;
};

const std::vector<sender>& senders() {
  static const std::vector<sender> list = [] {
    std::vector<sender> out;
    for (const auto& a : adapters::all()) {
      if (a.outbound != nullptr) {
        auto channel = fuzz::channel_for(a);
        auto outbound = a.outbound(channel);
        out.push_back({&a, std::move(channel), std::move(outbound)});
      }
    }
    return out;
  }();
  return list;
}

bool declares_json(const adapters::platform_request& r) {
  for (const auto& [name, value] : r.headers) {
    if ((name == "Content-Type" || name == "content-type") &&
        value.find("application/json") != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = adapters::parse_send_request(fuzz::padded(fuzz::as_text(data, size)));
  if (!parsed) {
    return 0;
  }
  const adapters::outbound_message& m = parsed.value().message;
  const std::string record = adapters::to_json(m);
  if (!fuzz::valid_json(record)) {
    fuzz::fail("an outbox record is invalid JSON: " + record);
  }
  auto back = adapters::outbound_from_json(record);
  if (!back) {
    fuzz::fail("an outbox record does not read back: " + back.err().message);
  }
  if (adapters::to_json(back.value()) != record) {
    fuzz::fail("an outbox record changes on the way back: " + record);
  }

  for (const auto& s : senders()) {
    adapters::outbound_message msg = m;
    msg.channel = s.channel.name;
    adapters::apply_defaults(s.channel, s.outbound.get(), msg);
    const std::string once = adapters::to_json(msg);
    adapters::apply_defaults(s.channel, s.outbound.get(), msg);
    fuzz::require(adapters::to_json(msg) == once, "apply_defaults is not idempotent");
    if (!adapters::validate(s.channel, s.outbound.get(), msg)) {
      continue;
    }
    auto request = s.outbound->encode(msg);
    if (request && declares_json(request.value()) && !fuzz::valid_json(request.value().body)) {
      fuzz::fail(s.info->type + " encodes an invalid JSON body: " + request.value().body);
    }
  }
  return 0;
}
