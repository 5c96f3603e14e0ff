// switchboard: load the config, start the actors and the HTTP server, reload the config on
// SIGHUP, stop cleanly on SIGTERM/SIGINT; or one of the subcommands: `migrate` (a single
// gateway's SQLite store into PostgreSQL, store/pg/migrate_sqlite.hpp; here, as it shares the
// log options), `backup` and `restore` (store/sqlite/backup.hpp) and `rotate-master-key`
// (store/root_key.hpp), those in src/cli/. Everything else is in the libraries the tests link.
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "actors/gateway.hpp"
#include "adapters/adapter.hpp"
#include "cli/commands.hpp"  // beside this file
#include "config/dev_secrets.hpp"
#include "config/diff.hpp"
#include "config/loader.hpp"
#include "control/plane.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "http/server.hpp"
#include "store/pg/connection.hpp"
#include "store/pg/migrate_sqlite.hpp"
#include "store/root_key.hpp"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_check_failed = 1;
constexpr int exit_startup = 2;
constexpr int exit_migrate_failed = 1;

constexpr std::string_view usage =
    "usage: switchboard [--config FILE] [--check-config FILE] [--allow-dev-secrets]\n"
    "                   [--listen HOST:PORT]\n"
    "                   [--log-level debug|info|warn|error] [--log-format text|json] [--help]\n"
    "       switchboard backup --config FILE DIR\n"
    "       switchboard restore --config FILE [--force] DIR\n"
    "       switchboard rotate-master-key --config FILE --new-key-file PATH|-\n"
    "       switchboard migrate --from sqlite:DIR --to postgres --config FILE\n"
    "                   [--log-level debug|info|warn|error] [--log-format text|json]\n"
    "\n"
    "  --config FILE        run with FILE (default: the embedded example config)\n"
    "  --check-config FILE  validate FILE, print 'FILE: ok' or every problem, exit 0 or 1\n"
    "  --allow-dev-secrets  start even though a listener is not loopback and the config uses\n"
    "                       the example config's public DEV-ONLY secrets (demos only)\n"
    "  --log-level LEVEL    debug, info (default), warn or error\n"
    "  --log-format FORMAT  text or json (one JSON object per line); overrides log.format\n"
    "  --listen HOST:PORT   listen there instead of server.listen (port 0: any free port)\n"
    "  --help               this text\n"
    "\n"
    "  migrate              copy the store of a single gateway (DIR: its storage.path) into the\n"
    "                       empty PostgreSQL database of FILE (storage.backend: postgres, its\n"
    "                       storage.postgres.dsn), under FILE's storage.master_key, which must be\n"
    "                       the store's; all or nothing. Stop the gateway first. Prints the rows\n"
    "                       copied per table, exit 0; on any error nothing is copied, exit 1\n"
    "                       (docs/operations.md, \"Moving from one machine to several "
    "replicas\")\n"
    "  backup               copy the SQLite store of FILE (its storage.path) into DIR (new or\n"
    "                       empty) while the gateway runs: a consistent copy of each database\n"
    "                       and DIR/manifest.json (sizes, SHA-256, schema versions, the master\n"
    "                       key's fingerprint). Exit 0, or 1 on any error (docs/operations.md,\n"
    "                       \"Backup and restore\")\n"
    "  restore              put the backup in DIR into FILE's storage.path, checked against its\n"
    "                       manifest and FILE's master key. Stop the gateway first. Refuses a\n"
    "                       storage.path that holds a store unless --force (which moves it into\n"
    "                       storage.path/pre-restore-<time>/ and lists its erasures newer than\n"
    "                       the backup). Exit 0, or 1 with nothing changed\n"
    "  rotate-master-key    re-wrap the store's data keys under the key in PATH (- : standard\n"
    "                       input; never on the command line); FILE's storage.master_key is the\n"
    "                       current one. Stop the gateway first. Afterwards only the new key\n"
    "                       opens the store (switchboard rotate-master-key --help)\n";

struct options {
  std::string config_file;
  std::string check_file;
  bool check = false;
  bool help = false;
  bool allow_dev_secrets = false;
  std::string listen;  ///< `--listen`: overrides server.listen when not empty
};

struct migrate_options {
  std::string from;  ///< the SQLite store's directory (the DIR of sqlite:DIR)
  std::string config_file;
  bool help = false;
};

/// Set by `--log-format`: the command line wins over the config's `log.format`.
bool log_format_given = false;

/// `--log-format text|json`: sets the format now (so start-up errors use it) and keeps it.
bool parse_log_format(std::string_view s) {
  if (s == "text") {
    sb::log::set_format(sb::log::format::text);
  } else if (s == "json") {
    sb::log::set_format(sb::log::format::json);
  } else {
    return false;
  }
  log_format_given = true;
  return true;
}

/// The config's `log.format`, unless `--log-format` was given.
void apply_log_config(const sb::config::config& cfg) {
  if (!log_format_given) {
    sb::log::set_format(cfg.log.format == sb::config::log_format::json ? sb::log::format::json
                                                                       : sb::log::format::text);
  }
}

bool parse_level(std::string_view s, sb::log::level& out) {
  if (s == "debug") {
    out = sb::log::level::debug;
  } else if (s == "info") {
    out = sb::log::level::info;
  } else if (s == "warn") {
    out = sb::log::level::warn;
  } else if (s == "error") {
    out = sb::log::level::error;
  } else {
    return false;
  }
  return true;
}

/// Parses argv; on a usage error prints it and returns false.
bool parse_args(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) {
        std::cerr << "switchboard: " << arg << " needs a value\n" << usage;
        return false;
      }
      out = argv[++i];
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      o.help = true;
    } else if (arg == "--config") {
      if (!value(o.config_file)) {
        return false;
      }
    } else if (arg == "--check-config") {
      o.check = true;
      if (!value(o.check_file)) {
        return false;
      }
    } else if (arg == "--allow-dev-secrets") {
      o.allow_dev_secrets = true;
    } else if (arg == "--listen") {
      if (!value(o.listen)) {
        return false;
      }
      if (auto problem = sb::config::listen_problem(o.listen); !problem.empty()) {
        std::cerr << "switchboard: --listen: " << problem << '\n' << usage;
        return false;
      }
    } else if (arg == "--log-level") {
      std::string level_text;
      sb::log::level level{};
      if (!value(level_text)) {
        return false;
      }
      if (!parse_level(level_text, level)) {
        std::cerr << "switchboard: unknown log level '" << level_text << "'\n" << usage;
        return false;
      }
      sb::log::set_level(level);
    } else if (arg == "--log-format") {
      std::string format_text;
      if (!value(format_text)) {
        return false;
      }
      if (!parse_log_format(format_text)) {
        std::cerr << "switchboard: unknown log format '" << format_text << "' (text or json)\n"
                  << usage;
        return false;
      }
    } else {
      std::cerr << "switchboard: unknown argument '" << arg << "'\n" << usage;
      return false;
    }
  }
  return true;
}

/// Parses the arguments of `switchboard migrate` (argv[2] on); on a usage error prints it and
/// returns false.
bool parse_migrate_args(int argc, char** argv, migrate_options& o) {
  std::string from;
  std::string to;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) {
        std::cerr << "switchboard migrate: " << arg << " needs a value\n" << usage;
        return false;
      }
      out = argv[++i];
      return true;
    };
    std::string level_text;
    sb::log::level level{};
    if (arg == "--help" || arg == "-h") {
      o.help = true;
      return true;
    } else if (arg == "--from") {
      if (!value(from)) {
        return false;
      }
    } else if (arg == "--to") {
      if (!value(to)) {
        return false;
      }
    } else if (arg == "--config") {
      if (!value(o.config_file)) {
        return false;
      }
    } else if (arg == "--log-level") {
      if (!value(level_text)) {
        return false;
      }
      if (!parse_level(level_text, level)) {
        std::cerr << "switchboard migrate: unknown log level '" << level_text << "'\n" << usage;
        return false;
      }
      sb::log::set_level(level);
    } else if (arg == "--log-format") {
      if (!value(level_text)) {
        return false;
      }
      if (!parse_log_format(level_text)) {
        std::cerr << "switchboard migrate: unknown log format '" << level_text
                  << "' (text or json)\n"
                  << usage;
        return false;
      }
    } else {
      std::cerr << "switchboard migrate: unknown argument '" << arg << "'\n" << usage;
      return false;
    }
  }
  constexpr std::string_view scheme = "sqlite:";
  if (from.compare(0, scheme.size(), scheme) != 0 || from.size() == scheme.size()) {
    std::cerr << "switchboard migrate: --from sqlite:DIR is required (the directory of the "
                 "single gateway's store, its storage.path)\n"
              << usage;
    return false;
  }
  o.from = from.substr(scheme.size());
  if (to != "postgres") {
    std::cerr << "switchboard migrate: --to postgres is required (the only target)\n" << usage;
    return false;
  }
  if (o.config_file.empty()) {
    std::cerr << "switchboard migrate: --config FILE is required (the replicas' config: "
                 "storage.backend postgres, storage.postgres.dsn, the store's master key)\n"
              << usage;
    return false;
  }
  return true;
}

/// `switchboard migrate`: copies the store and prints what it copied.
int migrate(const migrate_options& o) {
  auto loaded = sb::config::load_file(o.config_file, sb::adapters::schemas());
  if (!loaded.ok()) {
    for (const auto& problem : loaded.errors.problems) {
      std::cerr << problem << '\n';
    }
    std::cerr << "switchboard migrate: " << o.config_file << " is not valid; nothing was copied\n";
    return exit_migrate_failed;
  }
  apply_log_config(*loaded.cfg);
  const auto& storage = loaded.cfg->storage;
  if (storage.backend != "postgres" || storage.postgres.dsn.empty()) {
    std::cerr << "switchboard migrate: " << o.config_file << ": storage.backend is '"
              << storage.backend
              << "': the target is the PostgreSQL database of a config with storage.backend: "
                 "postgres and storage.postgres.dsn; nothing was copied\n";
    return exit_migrate_failed;
  }
  const std::string where = sb::store::pg::redact_dsn(storage.postgres.dsn);
  auto conn = sb::store::pg::connection::open(storage.postgres.dsn);
  if (!conn) {
    std::cerr << "switchboard migrate: " << conn.err().message << "; nothing was copied\n";
    return exit_migrate_failed;
  }
  auto report = sb::store::pg::copy_sqlite_store(o.from, *conn, storage.master_key);
  if (!report) {
    std::cerr << "switchboard migrate: " << report.err().message << "\n"
              << "switchboard migrate: nothing was copied\n";
    return exit_migrate_failed;
  }
  const double seconds = static_cast<double>(report->elapsed.count()) / 1000.0;
  std::uint64_t total = 0;
  for (const auto& t : report->tables) {
    total += t.rows;
  }
  std::ostringstream out;
  out << std::fixed << std::setprecision(2);
  out << "switchboard migrate: copied the SQLite store in " << o.from << " into PostgreSQL ("
      << where << ") in " << seconds << " s\n";
  for (const auto& t : report->tables) {
    out << "  " << std::left << std::setw(22) << t.name << std::right << std::setw(12) << t.rows
        << '\n';
  }
  out << "  " << std::left << std::setw(22) << "total" << std::right << std::setw(12) << total;
  if (seconds > 0) {
    out << "  (" << std::setprecision(0) << static_cast<double>(total) / seconds << " rows/s)";
  }
  out << '\n';
  if (!report->outbox) {
    out << "no outbox.db in " << o.from << ": no outbound messages or 24-hour windows copied\n";
  }
  out << "Start the replicas with " << o.config_file << " (the same storage.master_key).\n";
  std::cout << out.str();
  return exit_ok;
}

/// Raises the soft open-files limit to the hard one (issue 10: a gateway left at a default soft
/// limit of 1024 runs out of descriptors long before `server.max_connections`). Where the hard
/// limit is unlimited, up to the kernel's `fs.nr_open`. The server then clamps
/// `max_connections` to what the limit allows (src/http/edge_limits.hpp).
void raise_open_files_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max) {
    return;
  }
  const rlim_t before = rl.rlim_cur;
  rlim_t target = rl.rlim_max;
  if (target == RLIM_INFINITY) {
    std::ifstream nr_open("/proc/sys/fs/nr_open");
    unsigned long long n = 0;
    target = (nr_open >> n) && n > 0 ? static_cast<rlim_t>(n) : static_cast<rlim_t>(1048576);
  }
  rl.rlim_cur = target;
  if (::setrlimit(RLIMIT_NOFILE, &rl) == 0) {
    sb::log::info("main", "open-files limit raised from ", before, " to ", target);
  } else {
    sb::log::warn("main", "cannot raise the open-files limit from ", before, " to ", target);
  }
}

/// The public DEV-ONLY secrets `cfg` uses while a listener is not loopback, as problems; empty
/// when it may start (docs/security.md).
std::vector<std::string> dev_secret_problems(const sb::config::config& cfg, bool allowed) {
  if (allowed || sb::config::loopback_only(cfg)) {
    return {};
  }
  std::vector<std::string> out;
  for (auto& p : sb::config::dev_only_secrets(cfg, sb::adapters::schemas())) {
    out.push_back(cfg.source + ": " + p);
  }
  if (!out.empty()) {
    out.push_back(cfg.source +
                  ": refusing public DEV-ONLY secrets while listening on a non-loopback address "
                  "(server.listen " +
                  cfg.server.listen +
                  "); set real secrets, listen on 127.0.0.1, or pass --allow-dev-secrets for a "
                  "demo");
  }
  return out;
}

int check_config(const std::string& path, bool allow_dev_secrets) {
  auto loaded = sb::config::load_file(path, sb::adapters::schemas());
  if (loaded.ok()) {
    auto problems = dev_secret_problems(*loaded.cfg, allow_dev_secrets);
    for (const auto& p : problems) {
      std::cerr << p << '\n';
    }
    if (!problems.empty()) {
      return exit_check_failed;
    }
    std::cerr << path << ": ok\n";
    return exit_ok;
  }
  for (const auto& problem : loaded.errors.problems) {
    std::cerr << problem << '\n';
  }
  return exit_check_failed;
}

/// SIGHUP (docs/operations.md, "Reloading the config"): reads `--config` again and applies it
/// to the running gateway and server (`gateway::reconfigure`, `server::reconfigure`); `running`
/// becomes the applied config. A config with problems is refused, each problem logged, and
/// `running` keeps serving. Keys read only at start keep their running value, each changed one
/// named in the log. Counted in `switchboard_config_reloads_total{result}`.
void reload(const options& o, sb::control::plane& plane) {
  namespace cat = sb::metrics::catalog;
  if (o.config_file.empty()) {
    sb::log::warn("main",
                  "SIGHUP: running the embedded config, there is no file to read again "
                  "(start with --config FILE to reload); nothing changed");
    return;
  }
  sb::log::info("main", "SIGHUP: reloading ", o.config_file);
  auto refuse = [&](const std::vector<std::string>& problems) {
    for (const auto& p : problems) {
      sb::log::error("config", p);
    }
    cat::config_reloads(false).inc();
    sb::log::error("main", "reload refused (", problems.size(), " problem(s) in ", o.config_file,
                   "); still running the previous config");
  };
  auto loaded = sb::config::load_file(o.config_file, sb::adapters::schemas());
  if (!loaded.ok()) {
    refuse(loaded.errors.problems);
    return;
  }
  std::shared_ptr<const sb::config::config> fresh = loaded.cfg;
  if (!o.listen.empty()) {  // as at start: the command line wins over the file
    auto overridden = std::make_shared<sb::config::config>(*fresh);
    overridden->server.listen = o.listen;
    fresh = std::move(overridden);
  }
  // Judged by the address the server really listens on (the running one).
  const auto running = plane.running();
  auto judged = sb::config::keep_restart_keys(*running, *fresh, sb::adapters::schemas());
  if (auto problems = dev_secret_problems(*judged, o.allow_dev_secrets); !problems.empty()) {
    refuse(problems);
    return;
  }
  const auto changes = sb::config::diff(*plane.file_config(), *fresh);
  for (const auto& key : changes.restart_keys) {
    sb::log::warn("main", "reload: ", key,
                  " changed; it needs a restart, the running value is kept until then");
  }
  // With the tenants defined through the API (docs/control-plane.md) composed in again.
  if (auto s = plane.replace_file_config(judged); !s) {
    refuse({o.config_file + ": " + s.err().message});
    return;
  }
  apply_log_config(*judged);  // log.format (unless --log-format); log.access is read per request
  cat::config_reloads(true).inc();
  sb::log::info("main", "config reloaded from ", o.config_file, ": ", changes.summary());
}

int run(const options& o) {
  // Signals are caught before any thread starts, so none of them takes the default action.
  boost::asio::io_context signals_ioc(1);
  boost::asio::signal_set signals(signals_ioc, SIGINT, SIGTERM, SIGHUP);

  auto loaded = o.config_file.empty()
                    ? sb::config::load_string(sb::config::embedded_default(), "<embedded>",
                                              sb::adapters::schemas())
                    : sb::config::load_file(o.config_file, sb::adapters::schemas());
  if (!loaded.ok()) {
    for (const auto& problem : loaded.errors.problems) {
      std::cerr << problem << '\n';
    }
    return exit_startup;
  }
  std::shared_ptr<const sb::config::config> cfg = loaded.cfg;
  if (!o.listen.empty()) {  // the command line wins over the file (validated by parse_args)
    auto overridden = std::make_shared<sb::config::config>(*cfg);
    overridden->server.listen = o.listen;
    cfg = std::move(overridden);
  }
  apply_log_config(*cfg);
  if (auto problems = dev_secret_problems(*cfg, o.allow_dev_secrets); !problems.empty()) {
    for (const auto& p : problems) {
      std::cerr << p << '\n';
    }
    return exit_startup;
  }

  // The store's root key (store/root_key.hpp): after a rotation it is not the file's master
  // key, and the subjects' pseudonyms and the channels' derived keys come from it. A key the
  // store does not take is refused here, before anything starts.
  auto root = sb::store::unlock_root_key(cfg->storage);
  if (!root) {
    std::cerr << "switchboard: cannot start: " << root.err().message << '\n';
    return exit_startup;
  }
  if (*root != cfg->storage.root_key) {
    auto unlocked = std::make_shared<sb::config::config>(*cfg);
    sb::config::set_root_key(*unlocked, *root, sb::adapters::schemas());
    cfg = std::move(unlocked);
  }

  raise_open_files_limit();

  std::unique_ptr<sb::actors::gateway> gateway;
  try {
    gateway = sb::actors::gateway::start(cfg);
  } catch (const std::exception& e) {
    std::cerr << "switchboard: cannot start: " << e.what() << '\n';
    return exit_startup;
  }

  // The control plane (docs/control-plane.md): the tenants defined through the API, kept in the
  // gateway's store, join the file's before anything listens.
  sb::control::plane plane(gateway->definitions(), sb::adapters::schemas(), {});
  {
    auto composed = plane.compose_at_start(cfg);
    if (!composed) {
      std::cerr << "switchboard: cannot start: " << composed.err().message << '\n';
      gateway->shutdown();
      return exit_startup;
    }
    if (composed->get() != cfg.get()) {
      if (auto st = gateway->reconfigure(*composed); !st) {
        std::cerr << "switchboard: cannot start: " << st.err().message << '\n';
        gateway->shutdown();
        return exit_startup;
      }
      cfg = *composed;
    }
  }

  std::unique_ptr<sb::http::server> server;
  try {
    sb::http::server_options server_opts;
    server_opts.control = &plane;
    server = std::make_unique<sb::http::server>(cfg, *gateway, server_opts);
    server->start();
  } catch (const std::exception& e) {
    std::cerr << "switchboard: " << e.what() << '\n';
    server.reset();
    gateway->shutdown();
    return exit_startup;
  }
  if (server->metrics_port() != 0) {  // before "listening on": that line means "started"
    sb::log::info("http", "metrics listener on ", server->tls() ? "https" : "http", "://",
                  server->metrics_host(), ":", server->metrics_port());
  }
  sb::log::info("http", "listening on ", server->tls() ? "https" : "http", "://", server->host(),
                ":", server->port());

  sb::control::plane::hooks hooks;
  hooks.apply = [&](std::shared_ptr<const sb::config::config> c) -> sb::status {
    if (auto st = gateway->reconfigure(c); !st) {
      return st;
    }
    server->reconfigure(std::move(c));
    return {};
  };
  hooks.erase_tenant = [&](const std::string& tenant, const std::vector<std::string>& channels) {
    return gateway->erase_tenant(tenant, channels);
  };
  plane.start(std::move(hooks));
  gateway->on_definitions_changed([&plane] { plane.definitions_changed(); });

  // SIGHUP reloads (on this thread, never an I/O thread) and waits again; SIGINT and SIGTERM
  // end the wait.
  int caught = 0;
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signal_number) {
        if (ec) {
          return;
        }
        if (signal_number == SIGHUP) {
          try {
            reload(o, plane);
          } catch (const std::exception& e) {  // start-up style errors of the new config
            sb::metrics::catalog::config_reloads(false).inc();
            sb::log::error("main", "reload failed: ", e.what(),
                           "; still running the previous config");
          }
          signals.async_wait(on_signal);
          return;
        }
        caught = signal_number;
      };
  signals.async_wait(on_signal);
  signals_ioc.run();

  sb::log::info("main", "signal ", caught, ": shutting down");
  plane.stop();  // its calls reach the server and the gateway
  server->stop();
  gateway->shutdown();
  server.reset();
  gateway.reset();
  sb::log::info("main", "stopped");
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (std::string_view(argv[1]) == "backup" ||
                   std::string_view(argv[1]) == "restore")) {
    return sb::cli::backup_or_restore(argc, argv);
  }
  if (argc > 1 && std::string_view(argv[1]) == "rotate-master-key") {
    try {
      return sb::cli::rotate_master_key(argc, argv);
    } catch (const std::exception& e) {
      std::cerr << "switchboard rotate-master-key: " << e.what() << "; nothing was changed\n";
      return 1;
    }
  }
  if (argc > 1 && std::string_view(argv[1]) == "migrate") {
    migrate_options m;
    if (!parse_migrate_args(argc, argv, m)) {
      return exit_migrate_failed;
    }
    if (m.help) {
      std::cout << usage;
      return exit_ok;
    }
    try {
      return migrate(m);
    } catch (const std::exception& e) {
      std::cerr << "switchboard migrate: " << e.what() << "; nothing was copied\n";
      return exit_migrate_failed;
    }
  }
  options o;
  if (!parse_args(argc, argv, o)) {
    return exit_startup;
  }
  if (o.help) {
    std::cout << usage;
    return exit_ok;
  }
  try {
    if (o.check) {
      return check_config(o.check_file, o.allow_dev_secrets);
    }
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "switchboard: " << e.what() << '\n';
    return exit_startup;
  }
}
