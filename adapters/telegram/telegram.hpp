#pragma once

#include "adapters/adapter.hpp"

namespace sb::adapters::telegram {

/// The telegram platform: its config schema, the headers it reads, and its factory.
adapter_info info();

}  // namespace sb::adapters::telegram
