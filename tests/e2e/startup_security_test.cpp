// Start-up refuses the example config's public DEV-ONLY secrets when the gateway would be
// reachable from elsewhere (issue 10; docs/security.md).
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "support/temp_dir.hpp"

namespace {

struct run_result {
  int code = -1;
  std::string output;
};

/// Runs the real binary with `args` (stdout and stderr together) and waits for it to exit.
run_result run_binary(const std::string& args) {
  run_result r;
  const std::string cmd = std::string(SB_BINARY) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) {
    r.output.append(buf.data(), n);
  }
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/// The example config's secrets (as the embedded default falls back to them) with `listen`.
std::string example_with_listen(const std::string& listen) {
  return "server: {listen: \"" + listen +
         "\"}\n"
         "storage: {backend: memory, master_key: "
         "\"${SWITCHBOARD_MASTER_KEY:-"
         "0d3e5f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d4e}\"}\n"
         "tenants:\n"
         "  - id: acme\n"
         "    channels:\n"
         "      - {name: tg, type: telegram, secret_token: "
         "\"${ACME_TG_SECRET_TOKEN:-dev-tg-secret-token}\"}\n"
         "    subscribers:\n"
         "      - {name: helpdesk, token_sha256: "
         "\"faad082b331a596372e3094d8b351baa46ce9ec98cba97bd9b8eafc59c39823e\", scopes: [admin]}\n";
}

}  // namespace

TEST_CASE(
    "the binary refuses the public DEV-ONLY secrets on a non-loopback listener and says "
    "which, unless --allow-dev-secrets",
    "[e2e][security]") {
  sb::test::temp_dir dir("sb-devsecrets");
  const std::string file = dir.path + "/public.yaml";
  std::ofstream(file) << example_with_listen("0.0.0.0:0");
  // Make sure the environment does not supply real values.
  ::unsetenv("SWITCHBOARD_MASTER_KEY");
  ::unsetenv("ACME_TG_SECRET_TOKEN");

  auto refused = run_binary("--config " + file);
  INFO(refused.output);
  CHECK(refused.code == 2);
  CHECK(refused.output.find("storage.master_key: the example config's public DEV-ONLY value; set "
                            "SWITCHBOARD_MASTER_KEY") != std::string::npos);
  CHECK(refused.output.find("tenants[acme].channels[tg].secret_token") != std::string::npos);
  CHECK(refused.output.find("tenants[acme].subscribers[helpdesk].token_sha256") !=
        std::string::npos);
  CHECK(refused.output.find("--allow-dev-secrets") != std::string::npos);
  CHECK(refused.output.find("dev-tg-secret-token") == std::string::npos);  // never the value
  CHECK(refused.output.find("listening on http") == std::string::npos);

  auto checked = run_binary("--check-config " + file);
  CHECK(checked.code == 1);
  auto allowed = run_binary("--check-config " + file + " --allow-dev-secrets");
  CHECK(allowed.code == 0);

  // On loopback the same secrets are a laptop demo: accepted.
  const std::string local = dir.path + "/local.yaml";
  std::ofstream(local) << example_with_listen("127.0.0.1:0");
  auto loopback = run_binary("--check-config " + local);
  INFO(loopback.output);
  CHECK(loopback.code == 0);
}
