#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "loadtest/scenario.hpp"

/// Builds realistic, signed webhook requests for the scenario's mix. Pure logic: no I/O.
namespace sb::loadtest {

/// One header as sent (lower-case name).
using header_pair = std::pair<std::string, std::string>;

/// The headers the platform of `t` sends with `body` (DESIGN §4), from the channel's settings:
/// the adapter's own `sign` (adapters/adapter.hpp), signed now. For the platforms that sign
/// inside the body (`adapter_info::sign_body`, Mailgun's form fields) `body` is rewritten first
/// with its signature. `event_kind` and `delivery_id` as in `adapters::signing_input`. Empty for
/// an unknown type. `forge`: sign with every secret setting of the channel altered, so the
/// request is well-formed and its signature wrong.
std::vector<header_pair> sign(const target& t, std::string& body,
                              const std::string& event_kind = "",
                              const std::string& delivery_id = "", bool forge = false);

enum class request_kind { valid, duplicate, bad_signature, malformed };
const char* to_string(request_kind k);

struct webhook {
  request_kind kind = request_kind::valid;
  std::string tenant;
  std::string target;  ///< "/webhooks/{tenant}/{channel}"
  std::string type;
  std::vector<header_pair> headers;
  std::string body;
  /// The platform_event_id of every event the body carries (one per message of a batch).
  std::vector<std::string> platform_ids;
  std::string event_kind;   ///< signed with the body (`adapters::signing_input::kind`)
  std::string delivery_id;  ///< signed with the body (`adapters::signing_input::delivery_id`)
  /// The body before the signature was put in, for the platforms that sign inside the body
  /// (`adapters::adapter_info::sign_body`); empty otherwise.
  std::string unsigned_body;
};

class generator {
 public:
  /// `run_id` makes ids unique across runs against the same store (e.g. unix time).
  generator(const scenario& s, std::vector<target> targets, std::uint64_t run_id);

  /// The next request of the mix.
  webhook next();

  /// The conversation rank (0-based) a Zipf draw picks; exposed for tests.
  std::uint64_t pick_conversation();

 private:
  webhook fresh(const target& t, std::uint64_t n);
  std::string text(std::size_t bytes);

  scenario s_;
  std::vector<target> targets_;
  std::vector<std::vector<std::size_t>> by_type_;  ///< mix index -> target indexes
  std::uint64_t run_id_;
  std::uint64_t n_ = 0;
  std::mt19937_64 rng_;
  std::discrete_distribution<std::size_t> mix_;
  std::discrete_distribution<std::size_t> sizes_;
  std::vector<double> zipf_cdf_;
  std::deque<webhook> recent_;  ///< valid requests a duplicate may copy
};

}  // namespace sb::loadtest
