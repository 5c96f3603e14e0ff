#pragma once

#include "adapters/adapter.hpp"

namespace sb::adapters::whatsapp {

/// The whatsapp platform: its config schema, the headers it reads, and its factory.
adapter_info info();

}  // namespace sb::adapters::whatsapp
