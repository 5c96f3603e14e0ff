#pragma once

#include <string>
#include <utility>
#include <vector>

/// The contract log: what the end-to-end suite saw the real binary answer, kept so that the
/// documents that describe the server (docs/openapi.json, docs/event.schema.json) are checked
/// against real traffic and not only against themselves (tests/contract/*.mjs, docs/api.md).
///
/// Off unless the environment variable `SB_CONTRACT_LOG` names a directory (CTest sets it for
/// the e2e tests). Each process then appends JSON lines to `<dir>/e2e-<pid>.jsonl`, one per
/// record, written whole under a mutex:
///
///   {"kind":"http","method":"GET","url":"http://127.0.0.1:41234/v1/events?after=0",
///    "status":200,"content_type":"application/json","headers":{"x-request-id":"..",..},
///    "body":"<the body as text>"}
///   {"kind":"sse","url":"..","status":200,"event":"message","id":"17","data":"<data>",
///    "headers":{"content-type":"text/event-stream",..}}
///   {"kind":"push","url":"<the fake backend's path>","headers":{..},"body":".."}
///
/// `body` is recorded only for JSON bodies (content type `application/json` or
/// `application/problem+json`) and is "" otherwise; header names are lower case (the last value
/// wins). Tests only.
namespace sb::test::contract {

using header_list = std::vector<std::pair<std::string, std::string>>;

/// True when `SB_CONTRACT_LOG` is set (checked once).
bool enabled();

/// A response `request()` received.
void record_http(const std::string& method, const std::string& url, long status,
                 const header_list& headers, const std::string& body);
/// One frame an `sse_client` received on a stream answered with `status` and the response
/// head's `headers` (the stream's `Switchboard-Event-Schema`: tests/contract/events.test.mjs).
void record_sse(const std::string& url, long status, const std::string& event,
                const std::string& id, const std::string& data, const header_list& headers = {});
/// A push delivery a fake backend received (its request headers and body).
void record_push(const std::string& url, const header_list& headers, const std::string& body);

}  // namespace sb::test::contract
