// PLACEHOLDER: being written; replaced by the real adapter.
#include "adapters/instagram/instagram.hpp"

namespace sb::adapters::instagram {

namespace {
class placeholder final : public adapter {
 public:
  status verify(const request&) const override { return {errc::internal, "not implemented"}; }
  status parse(const request&, std::vector<event>&) override {
    return {errc::internal, "not implemented"};
  }
};
}  // namespace

adapter_info info() {
  adapter_info i;
  i.type = "instagram";
  i.schema.type = "instagram";
  i.make = [](const config::channel_config&) -> std::unique_ptr<adapter> {
    return std::make_unique<placeholder>();
  };
  i.account = [](const config::channel_config&) { return std::string{}; };
  return i;
}

}  // namespace sb::adapters::instagram
