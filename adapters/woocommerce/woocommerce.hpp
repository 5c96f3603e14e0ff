#pragma once

#include "adapters/adapter.hpp"

/// WooCommerce (work in progress: filled in by its own commit).
namespace sb::adapters::woocommerce {

/// The woocommerce platform: its config schema, the headers it reads, and its factory.
adapter_info info();

}  // namespace sb::adapters::woocommerce
