#include <catch2/catch.hpp>

#include <curl/curl.h>

#include "delivery/http_client.hpp"

using sb::delivery::cause_of_curl_code;
using sb::delivery::describe_failure;
using sb::delivery::failure_cause;

TEST_CASE("curl results are classified as dns refused tls timeout or other", "[delivery]") {
  CHECK(cause_of_curl_code(CURLE_OK) == failure_cause::none);
  CHECK(cause_of_curl_code(CURLE_COULDNT_RESOLVE_HOST) == failure_cause::dns);
  CHECK(cause_of_curl_code(CURLE_COULDNT_RESOLVE_PROXY) == failure_cause::dns);
  CHECK(cause_of_curl_code(CURLE_COULDNT_CONNECT) == failure_cause::refused);
  CHECK(cause_of_curl_code(CURLE_OPERATION_TIMEDOUT) == failure_cause::timeout);
  CHECK(cause_of_curl_code(CURLE_SSL_CONNECT_ERROR) == failure_cause::tls);
  CHECK(cause_of_curl_code(CURLE_PEER_FAILED_VERIFICATION) == failure_cause::tls);
  CHECK(cause_of_curl_code(CURLE_SSL_CACERT_BADFILE) == failure_cause::tls);
  CHECK(cause_of_curl_code(CURLE_SSL_PINNEDPUBKEYNOTMATCH) == failure_cause::tls);
  CHECK(cause_of_curl_code(CURLE_USE_SSL_FAILED) == failure_cause::tls);
  CHECK(cause_of_curl_code(CURLE_RECV_ERROR) == failure_cause::other);
  CHECK(cause_of_curl_code(CURLE_GOT_NOTHING) == failure_cause::other);
  CHECK(cause_of_curl_code(CURLE_WEIRD_SERVER_REPLY) == failure_cause::other);
}

TEST_CASE("a failure's text starts with its cause and keeps curl's message", "[delivery]") {
  CHECK(describe_failure(failure_cause::refused, "Failed to connect to 127.0.0.1 port 9") ==
        "refused: Failed to connect to 127.0.0.1 port 9");
  CHECK(describe_failure(failure_cause::dns, "Could not resolve host: nowhere.invalid") ==
        "dns: Could not resolve host: nowhere.invalid");
  CHECK(describe_failure(failure_cause::other, "Empty reply from server") ==
        "Empty reply from server");
  CHECK(to_string(failure_cause::tls) == "tls");
  CHECK(to_string(failure_cause::timeout) == "timeout");
}
