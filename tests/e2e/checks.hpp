#pragma once

// Checks of gateway answers that several end-to-end tests make alike.

#include <catch2/catch.hpp>

#include <string>

#include "support/http_client.hpp"

namespace sb::test::e2e_checks {

/// The answer's status is `status`; the report of a failure shows the body.
inline void require_status(const http_result& r, long status) {
  INFO("response " << r.status << ": " << r.body);
  REQUIRE(r.status == status);
}

/// The answer is `status` with the JSON error body {"error":"<code>","message":"<non-empty>"}.
inline void require_error(const http_result& r, long status, const std::string& code) {
  require_status(r, status);
  CHECK(r.header("content-type").find("application/json") != std::string::npos);
  json j = json::parse(r.body);
  CHECK(j["error"].str() == code);
  CHECK(j["message"].is_string());
  CHECK_FALSE(j["message"].str().empty());
}

}  // namespace sb::test::e2e_checks
