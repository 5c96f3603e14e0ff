#pragma once

#include "adapters/adapter.hpp"

/// HubSpot (work in progress: filled in by its own commit).
namespace sb::adapters::hubspot {

/// The hubspot platform: its config schema, the headers it reads, and its factory.
adapter_info info();

}  // namespace sb::adapters::hubspot
