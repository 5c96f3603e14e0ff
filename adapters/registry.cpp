#include "adapters/adapter.hpp"
#include "adapters/email/email.hpp"
#include "adapters/hubspot/hubspot.hpp"
#include "adapters/instagram/instagram.hpp"
#include "adapters/messenger/messenger.hpp"
#include "adapters/shopify/shopify.hpp"
#include "adapters/slack/slack.hpp"
#include "adapters/telegram/telegram.hpp"
#include "adapters/webchat/webchat.hpp"
#include "adapters/whatsapp/whatsapp.hpp"
#include "adapters/woocommerce/woocommerce.hpp"

namespace sb::adapters {

const std::vector<adapter_info>& all() {
  // The one list of platforms. Order is irrelevant; types must be unique (tested).
  static const std::vector<adapter_info> list{
      whatsapp::info(), messenger::info(), instagram::info(), telegram::info(), shopify::info(),
      slack::info(),    woocommerce::info(), hubspot::info(), email::info(),
      webchat::info(),
  };
  return list;
}

const adapter_info* find(std::string_view type) {
  for (const auto& a : all()) {
    if (a.type == type) {
      return &a;
    }
  }
  return nullptr;
}

std::vector<config::channel_schema> schemas() {
  std::vector<config::channel_schema> out;
  for (const auto& a : all()) {
    out.push_back(a.schema);
  }
  return out;
}

std::string types_where(const std::function<bool(const adapter_info&)>& pred) {
  std::vector<const std::string*> types;
  for (const auto& a : all()) {
    if (pred(a)) {
      types.push_back(&a.type);
    }
  }
  std::string out;
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (i > 0) {
      out += i + 1 == types.size() ? " and " : ", ";
    }
    out += *types[i];
  }
  return out;
}

}  // namespace sb::adapters
