#include "loadtest/loss.hpp"

namespace sb::loadtest {

void loss_checker::answered(const std::string& id, int status) {
  auto& e = ids_[id];
  e.sent = true;
  if (status == 200) {
    e.acked = true;
  } else if (status == 400 || status == 401) {
    e.rejected = true;
  }
}

void loss_checker::seen(const std::string& id) {
  ++ids_[id].seen;
}

bool loss_checker::was_seen(const std::string& id) const {
  auto it = ids_.find(id);
  return it != ids_.end() && it->second.seen > 0;
}

std::uint64_t loss_checker::outstanding() const {
  std::uint64_t n = 0;
  for (const auto& [id, e] : ids_) {
    if (e.acked && e.seen == 0) {
      ++n;
    }
  }
  return n;
}

loss_report loss_checker::check(std::size_t max_samples) const {
  loss_report r;
  auto sample = [&](const char* what, const std::string& id) {
    if (r.samples.size() < max_samples) {
      r.samples.push_back(std::string(what) + ": " + id);
    }
  };
  for (const auto& [id, e] : ids_) {
    if (!e.sent) {
      ++r.unexpected;
      continue;
    }
    if (e.seen > 1) {
      ++r.duplicated;
      sample("duplicated", id);
    }
    if (e.acked) {
      ++r.acked;
      if (e.seen == 0) {
        ++r.missing;
        sample("missing", id);
      } else if (e.seen == 1) {
        ++r.delivered;
      }
    } else if (e.rejected) {
      ++r.rejected;
      if (e.seen > 0) {
        ++r.rejected_present;
        sample("rejected but present", id);
      }
    } else {
      ++r.unknown;
      if (e.seen == 1) {
        ++r.unknown_seen;
      }
    }
  }
  return r;
}

}  // namespace sb::loadtest
