#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"

/// A load-test scenario (loadtest/scenarios/*.yaml) and the webhook targets it drives, taken
/// from the gateway's own switchboard.yaml (tenants, channels, secrets).
namespace sb::loadtest {

struct weighted_type {
  std::string type;  ///< a channel type of adapters/registry.cpp
  double weight = 1;
};

struct weighted_size {
  std::size_t bytes = 0;  ///< message text length
  double weight = 1;
};

enum class loop_mode { open, closed };

struct scenario {
  std::string gateway_url = "http://127.0.0.1:8080";  ///< http://host:port
  std::string config_path;                            ///< the gateway's switchboard.yaml
  std::vector<weighted_type> mix;
  /// A POST of a type that batches (`adapters::adapter_info::synthetic_batches`) carries
  /// 1..this many messages.
  int batch_max = 4;
  std::uint64_t conversations = 1000;
  double zipf_s = 1.1;  ///< conversation popularity: P(rank k) ~ 1 / k^s
  std::vector<weighted_size> text_sizes;
  double duplicate_ratio = 0;  ///< share of requests that re-send an earlier one byte for byte
  double invalid_ratio = 0;    ///< share of requests with a bad signature or malformed JSON
  loop_mode mode = loop_mode::closed;
  double rate = 100;        ///< open loop: requests per second
  int connections = 16;     ///< keep-alive connections (closed loop: concurrency)
  double duration_s = 20;   ///< measured duration (after warm-up); 0 = use `count`
  std::uint64_t count = 0;  ///< total requests when duration_s is 0
  double warmup_s = 2;      ///< first seconds not counted in latency/throughput figures
  double drain_s = 10;      ///< how long to wait for the stream to catch up after the run
  double timeout_s = 30;    ///< one request's timeout
  std::uint64_t seed = 1;
  std::map<std::string, std::string> stream_tokens;  ///< tenant -> bearer token for /v1/stream
};

/// Parses scenario YAML. `base_dir` resolves a relative `config` path; `file` names the source
/// in messages. Never throws. On error the message lists every problem found, one per line, as
/// `file:line: key: problem` (as the gateway's config loader does), an unknown key with the
/// closest known one ("did you mean 'rate'?").
result<scenario> parse_scenario(const std::string& yaml_text, const std::string& base_dir,
                                const std::string& file = "scenario");
result<scenario> load_scenario(const std::string& path);

/// The keys a scenario file may hold.
const std::vector<std::string>& scenario_keys();

/// "unknown key; did you mean 'x'?" when a known name is close to `key` (edit distance, or a
/// shared prefix of 4+ characters), else "unknown key; known keys: a, b, ...". Also used for
/// command-line options and platform names.
std::string unknown_name_problem(const std::string& key, const std::vector<std::string>& known,
                                 const std::string& what = "key");

/// One channel the tool posts to.
struct target {
  std::string tenant;
  std::string channel;
  std::string type;
  std::string account;  ///< the adapter's account id (phone_number_id, page_id, shop domain)
  std::map<std::string, std::string> settings;  ///< secrets included
};

/// Every channel of the config whose type appears in the mix. Error when a mixed type has no
/// channel.
result<std::vector<target>> targets_from(const config::config& cfg, const scenario& s);

}  // namespace sb::loadtest
