#pragma once

#include "adapters/adapter.hpp"

namespace sb::adapters::messenger {

/// The messenger platform: its config schema, the headers it reads, and its factory.
adapter_info info();

}  // namespace sb::adapters::messenger
