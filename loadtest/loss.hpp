#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

/// Checks the gateway's stream against what it acknowledged: every platform id acknowledged with
/// 200 appears exactly once; no id only ever rejected (400/401) appears; ids whose fate is
/// unknown (timeouts, 429, 503) appear at most once. Pure logic, not thread-safe.
namespace sb::loadtest {

struct loss_report {
  std::uint64_t acked = 0;             ///< ids with at least one 200
  std::uint64_t delivered = 0;         ///< acked ids seen exactly once
  std::uint64_t missing = 0;           ///< acked ids never seen: lost
  std::uint64_t duplicated = 0;        ///< ids seen more than once
  std::uint64_t rejected = 0;          ///< ids only ever answered 400/401
  std::uint64_t rejected_present = 0;  ///< rejected ids that appeared anyway
  std::uint64_t unknown = 0;           ///< ids with no definite answer (errors, 429, 503)
  std::uint64_t unknown_seen = 0;      ///< of those, seen once (stored before the error)
  std::uint64_t unexpected = 0;        ///< seen ids this run never sent (other traffic)
  std::vector<std::string> samples;    ///< a few offending ids, "<problem>: <id>"

  bool ok() const { return missing == 0 && duplicated == 0 && rejected_present == 0; }
};

class loss_checker {
 public:
  /// A response to a request carrying `id`: `status` 200 acknowledges it, 400/401 reject it,
  /// anything else (0 = no response) leaves its fate unknown.
  void answered(const std::string& id, int status);
  /// The id appeared once on the stream.
  void seen(const std::string& id);
  /// True once `id` has been seen at least once.
  bool was_seen(const std::string& id) const;
  /// Acknowledged ids not yet seen.
  std::uint64_t outstanding() const;

  loss_report check(std::size_t max_samples = 10) const;

 private:
  struct entry {
    bool acked = false;
    bool rejected = false;
    bool sent = false;
    std::uint32_t seen = 0;
  };
  std::unordered_map<std::string, entry> ids_;
};

}  // namespace sb::loadtest
