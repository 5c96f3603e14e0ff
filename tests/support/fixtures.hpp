#pragma once

#include <string>

namespace sb::test {

/// Contents of tests/fixtures/<relative>; fails the test (throws) when unreadable.
std::string fixture(const std::string& relative);

/// Reads any file; throws when unreadable.
std::string read_file(const std::string& path);

/// Every byte of every regular file directly in `dir` (a store's database, its WAL and
/// shared-memory index, its lock), as they are now: what a crash or a file backup would keep. A
/// file that vanishes while it is read counts as empty.
std::string all_file_bytes(const std::string& dir);

/// Copies `body` into a string with simdjson's padding capacity, as the gateway does.
std::string padded(std::string body);

}  // namespace sb::test
