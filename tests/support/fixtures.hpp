#pragma once

#include <string>

namespace sb::test {

/// Contents of tests/fixtures/<relative>; fails the test (throws) when unreadable.
std::string fixture(const std::string& relative);

/// Reads any file; throws when unreadable.
std::string read_file(const std::string& path);

/// Copies `body` into a string with simdjson's padding capacity, as the gateway does.
std::string padded(std::string body);

}  // namespace sb::test
