#pragma once

#include "adapters/adapter.hpp"

/// Slack (work in progress: filled in by its own commit).
namespace sb::adapters::slack {

/// The slack platform: its config schema, the headers it reads, and its factory.
adapter_info info();

}  // namespace sb::adapters::slack
