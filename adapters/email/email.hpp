#pragma once

#include "adapters/adapter.hpp"

/// E-mail (work in progress: filled in by its own commit).
namespace sb::adapters::email {

/// The email platform: its config schema, the headers it reads, and its factory.
adapter_info info();

}  // namespace sb::adapters::email
