#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

/// The example config (config/switchboard.example.yaml, compiled in as the default) runs out of
/// the box because it falls back to secrets that are public: they are in the repository and in
/// the binary. That is fine on a laptop and a disaster on a network. These functions find such
/// values in any loaded config, so start-up can refuse them when the gateway is reachable from
/// elsewhere (src/main.cpp, `--allow-dev-secrets` overrides; docs/security.md).
namespace sb::config {

/// Every secret of `cfg` that equals a public DEV-ONLY value of the embedded example config:
/// `storage.master_key`, the channel settings its `schemas` mark secret, subscriber token hashes,
/// push secrets and the metrics token. Each entry names the key path and how to replace it, e.g.
/// "tenants[acme].channels[wa-main].app_secret: the example config's public DEV-ONLY value; set
/// ACME_WA_APP_SECRET". Never the value itself. Empty when none is used.
std::vector<std::string> dev_only_secrets(const config& cfg,
                                          const std::vector<channel_schema>& schemas);

/// Whether every listener of `cfg` (`server.listen`, `server.metrics.listen`) is a loopback
/// address (127.0.0.0/8, ::1, localhost): the gateway is then reachable from this machine only.
bool loopback_only(const config& cfg);

}  // namespace sb::config
