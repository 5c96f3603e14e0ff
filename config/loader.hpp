#pragma once

#include <memory>
#include <cstddef>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace sb::config {

/// Every problem found in one pass, each rendered `<file>:<line>: <key>: <problem>`.
struct load_error {
  std::vector<std::string> problems;
  std::string to_string() const;  ///< one problem per line
};

struct load_result {
  std::shared_ptr<const config> cfg;  ///< null when `errors` is non-empty
  load_error errors;
  bool ok() const { return cfg != nullptr; }
};

/// Parses and validates YAML text. `source` names the file in messages. `schemas` declares the
/// channel types (from `adapters::schemas()`); `${VAR}` and `${VAR:-default}` are read through
/// `getenv`. Never throws: YAML syntax errors are reported with their line too.
load_result load_string(const std::string& yaml_text, const std::string& source,
                        const std::vector<channel_schema>& schemas);

/// Reads a file and calls `load_string`; an unreadable file is one problem.
load_result load_file(const std::string& path, const std::vector<channel_schema>& schemas);

/// Sets `storage.root_key` (the store's, store/root_key.hpp: 32 raw bytes) and derives every
/// channel's derived settings from it again, as `load_string` did from the master key.
void set_root_key(config& cfg, const std::string& root_key,
                  const std::vector<channel_schema>& schemas);

/// The check of `server.listen` (host:port, port 0..65535, IPv6 in brackets), for the command
/// line's `--listen`: "" when `host_port` is valid, else the problem.
std::string listen_problem(const std::string& host_port);

/// The case-insensitive Levenshtein distance of `a` and `b`: how "did you mean" hints pick the
/// closest known key (here and in the load tester's scenario errors).
std::size_t edit_distance(const std::string& a, const std::string& b);

/// The example config compiled into the binary (config/switchboard.example.yaml).
const std::string& embedded_default();

}  // namespace sb::config
