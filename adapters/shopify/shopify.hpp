#pragma once

#include "adapters/adapter.hpp"

namespace sb::adapters::shopify {

/// The shopify platform: its config schema, the headers it reads, and its factory.
adapter_info info();

}  // namespace sb::adapters::shopify
