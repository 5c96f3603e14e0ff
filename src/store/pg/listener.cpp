#include "store/pg/listener.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "core/log.hpp"
#include "store/pg/connection.hpp"

namespace sb::store::pg {

bool parse_head_notice(std::string_view payload, std::string& tenant, std::uint64_t& head) {
  const auto space = payload.rfind(' ');
  if (space == std::string_view::npos || space == 0 || space + 1 == payload.size()) {
    return false;
  }
  const auto digits = payload.substr(space + 1);
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return false;
  }
  tenant.assign(payload.substr(0, space));
  head = v;
  return true;
}

std::unique_ptr<listener> listener::start(std::string dsn, callbacks cb, options opts) {
  return std::unique_ptr<listener>(new listener(std::move(dsn), std::move(cb), opts));
}

listener::listener(std::string dsn, callbacks cb, options opts)
    : dsn_(std::move(dsn)), cb_(std::move(cb)), opts_(opts) {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    wake_[0] = wake_[1] = -1;  // then waits end by their timeouts only
  }
  thread_ = std::thread([this] { run(); });
}

listener::~listener() {
  stop_.store(true, std::memory_order_release);
  if (wake_[1] >= 0) {
    const char b = 1;
    (void)!::write(wake_[1], &b, 1);
  }
  if (thread_.joinable()) {
    thread_.join();
  }
  for (int fd : wake_) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

bool listener::stopped_within(std::chrono::milliseconds d) {
  if (stop_.load(std::memory_order_acquire)) {
    return true;
  }
  pollfd p{wake_[0], POLLIN, 0};
  (void)::poll(&p, wake_[0] >= 0 ? 1 : 0, static_cast<int>(d.count()));
  return stop_.load(std::memory_order_acquire);
}

void listener::run() {
  auto retry = opts_.retry_min;
  bool warned = false;
  while (!stop_.load(std::memory_order_acquire)) {
    auto c = connection::open(dsn_);
    if (c) {
      if (auto r = c->exec(
              "LISTEN switchboard_events; LISTEN switchboard_outbox; LISTEN switchboard_control");
          !r) {
        c = r.err();
      }
    }
    if (!c) {
      connected_.store(false, std::memory_order_release);
      if (!warned) {
        log::warn("store", "PostgreSQL listener: ", c.err().message, "; retrying");
        warned = true;
      }
      if (stopped_within(retry)) {
        return;
      }
      retry = std::min(retry * 2, opts_.retry_max);
      continue;
    }
    if (warned) {
      log::info("store", "PostgreSQL listener connected again");
    }
    warned = false;
    retry = opts_.retry_min;
    connected_.store(true, std::memory_order_release);
    if (cb_.connected) {
      cb_.connected();
    }
    auto quiet_since = std::chrono::steady_clock::now();
    std::string tenant;
    std::map<std::string, std::uint64_t> heads;
    std::set<std::pair<std::string, std::string>> channels;
    while (!stop_.load(std::memory_order_acquire)) {
      pollfd fds[2] = {{c->socket(), POLLIN, 0}, {wake_[0], POLLIN, 0}};
      const int n = ::poll(fds, wake_[0] >= 0 ? 2 : 1, static_cast<int>(opts_.probe_every.count()));
      if (stop_.load(std::memory_order_acquire)) {
        return;
      }
      if (n == 0 || std::chrono::steady_clock::now() - quiet_since >= opts_.probe_every) {
        // Quiet: make sure the server is still there (a dead peer may not close the socket).
        if (auto r = c->exec("SELECT 1"); !r) {
          log::warn("store", "PostgreSQL listener: ", r.err().message);
          break;
        }
        quiet_since = std::chrono::steady_clock::now();
      }
      auto got = c->notifications();
      if (!got) {
        log::warn("store", "PostgreSQL listener: ", got.err().message);
        break;
      }
      heads.clear();
      channels.clear();
      bool control = false;
      for (const auto& note : *got) {
        std::uint64_t head = 0;
        if (note.channel == k_events_channel && parse_head_notice(note.payload, tenant, head)) {
          auto& h = heads[tenant];
          h = std::max(h, head);
        } else if (note.channel == k_outbox_channel) {
          // "<tenant> <channel>": tenant ids and channel names hold no space.
          const auto space = note.payload.find(' ');
          if (space != std::string::npos) {
            channels.emplace(note.payload.substr(0, space), note.payload.substr(space + 1));
          }
        } else if (note.channel == k_control_channel) {
          control = true;
        }
      }
      if (!heads.empty() && cb_.heads) {
        cb_.heads(heads);
      }
      if (!channels.empty() && cb_.outbox) {
        cb_.outbox(channels);
      }
      if (control && cb_.control) {
        cb_.control();
      }
      if (!got->empty()) {
        quiet_since = std::chrono::steady_clock::now();
      }
    }
    connected_.store(false, std::memory_order_release);
  }
}

}  // namespace sb::store::pg
