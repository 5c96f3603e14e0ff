#pragma once

// The control plane (docs/control-plane.md): tenants, channels and subscribers created, changed
// and deleted by API, kept in the store and applied to the running gateway without a restart.
//
// The running config is the file's (read at start and on SIGHUP) plus the tenants the control
// plane defines. A change is validated by the config file's own rules
// (`config::parse_*_object`), written with its audit entry (store/definitions.hpp), then applied
// the way a reload is (`hooks::apply`: `gateway::reconfigure` and `server::reconfigure`), and
// only then answered. On several replicas, each change notifies the others, which read the
// definitions again and apply them (`definitions_changed`).
//
// Plain code: no actors, no sockets. One worker thread runs the calls one after the other (they
// block on the store and on the reconfigure); the HTTP layer hands them over with `submit`.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "control/document.hpp"
#include "control/operation.hpp"
#include "core/error.hpp"
#include "http/response.hpp"
#include "store/definitions.hpp"

namespace sb::control {

/// One call of the control plane's API, once the HTTP layer checked the operator's token.
struct request {
  operation op = operation::none;
  std::vector<std::string> params;  ///< decoded path parameters, in pattern order
  std::string query;                ///< raw, without '?'
  std::string body;
  std::string operator_name;  ///< audited as "operator:<name>"
};

class plane {
 public:
  struct hooks {
    /// Applies a config to the running gateway and server (a reload's path); an error: nothing
    /// was applied. Called on the worker thread, or on `replace_file_config`'s caller.
    std::function<status(std::shared_ptr<const config::config>)> apply;
    /// Erases what the store holds of a deleted tenant (`actors::gateway::erase_tenant`).
    std::function<result<store::erase_outcome>(const std::string&, const std::vector<std::string>&)>
        erase_tenant;
  };
  struct options {
    std::size_t queue = 64;  ///< calls waiting for the worker; past it 503 with Retry-After
  };

  /// `definitions`: the store's (null: every call is answered 503 and nothing is composed).
  plane(std::shared_ptr<store::definition_store> definitions,
        std::vector<config::channel_schema> schemas, options o);
  /// Calls `stop`.
  ~plane();
  /// Stops the worker (after the call it runs, if any); calls still queued, and later ones, are
  /// answered 503. Idempotent. Before the gateway and server the hooks reach go away.
  void stop();
  plane(const plane&) = delete;
  plane& operator=(const plane&) = delete;

  /// At start, before the gateway: `file_cfg` (validated, root key set) with the stored tenants
  /// appended. A stored tenant that no longer validates against it (its id now in the file, an
  /// adapter's rules changed) is left out, each problem logged; it is kept in the store and
  /// served again once it validates. With `control_plane.manage_file_tenants`, the file's
  /// tenants the store has not are imported first, and every stored tenant is served in place
  /// of the file's entry. A store that cannot be read (or, importing, written) is an error.
  result<std::shared_ptr<const config::config>> compose_at_start(
      std::shared_ptr<const config::config> file_cfg);

  /// Starts the worker, with the hooks of the running gateway and server.
  void start(hooks h);

  /// The config running now (the last one applied). Any thread.
  std::shared_ptr<const config::config> running() const;
  /// The file's part of it (as read at start or by the last SIGHUP). Any thread.
  std::shared_ptr<const config::config> file_config() const;

  /// SIGHUP: `file_cfg` (validated, restart-only keys kept) replaces the file's part (its new
  /// tenants imported first, as at start); the stored tenants are composed with it again and
  /// the result applied. Blocks until applied;
  /// the error of `hooks::apply` when it failed (the previous config keeps running).
  status replace_file_config(std::shared_ptr<const config::config> file_cfg);

  /// Some replica changed the definitions: the worker reads them again and applies what
  /// changed. Any thread; never blocks (several calls before the worker runs are one reading).
  void definitions_changed();

  /// Queues a call (before `start` too: it runs once the worker does); `done` is called exactly
  /// once with the answer, on the worker thread (or at once: 503 when the queue is full or the
  /// plane is stopping or has no store; by `stop` for calls still queued).
  void submit(request r, std::function<void(http::response)> done);

 private:
  struct job {
    request r;
    std::function<void(http::response)> done;
  };
  void run();
  http::response handle(request& r);
  /// Everything below runs with `m_` held (on the worker, or in `replace_file_config`).
  std::shared_ptr<config::config> compose(const config::config& file_cfg, std::int64_t now_ms);
  /// Reads every stored definition into `docs_` and `stored_` (replacing what they held of it).
  status read_definitions();
  /// `control_plane.manage_file_tenants`: stores the file's tenants the store has not (each
  /// audited `tenant_import`, all in one transaction) and adds them to `docs_`; from then on
  /// `compose` serves them from there. A store that cannot be written is an error.
  status import_file_tenants(const config::config& file_cfg, std::int64_t now_ms);
  /// Applies `next` (`hooks::apply`) and, when that worked, makes it `running_`; otherwise the
  /// hook's error, and the running config stays.
  status apply_running(std::shared_ptr<const config::config> next);
  void reload_definitions();
  void expire_graces();
  std::int64_t next_wake(std::int64_t now_ms) const;

  const std::shared_ptr<store::definition_store> definitions_;
  const std::vector<config::channel_schema> schemas_;
  const options opts_;
  hooks hooks_;

  mutable std::mutex m_;  // the state below; held for a whole call
  std::shared_ptr<const config::config> file_cfg_;
  std::shared_ptr<const config::config> running_;
  std::map<std::string, tenant_document> docs_;  ///< by tenant id: what the store holds
  std::map<std::string, std::string> stored_;    ///< by tenant id: the document as stored

  std::mutex q_m_;  // the queue and the flags below
  std::condition_variable q_cv_;
  std::deque<job> queue_;
  bool reload_wanted_ = false;
  bool stopping_ = false;
  std::thread worker_;

  friend struct plane_calls;  // plane.cpp: the calls' bodies
};

}  // namespace sb::control
