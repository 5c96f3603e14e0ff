// switchboard: load the config, start the actors and the HTTP server, stop cleanly on
// SIGTERM/SIGINT; or `switchboard migrate`, which copies a single gateway's SQLite store into
// PostgreSQL (store/pg/migrate_sqlite.hpp). Everything else is in the libraries the tests link.
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
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
#include "config/dev_secrets.hpp"
#include "config/loader.hpp"
#include "core/log.hpp"
#include "http/server.hpp"
#include "store/pg/connection.hpp"
#include "store/pg/migrate_sqlite.hpp"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_check_failed = 1;
constexpr int exit_startup = 2;
constexpr int exit_migrate_failed = 1;

constexpr std::string_view usage =
    "usage: switchboard [--config FILE] [--check-config FILE] [--allow-dev-secrets]\n"
    "                   [--log-level debug|info|warn|error] [--help]\n"
    "       switchboard migrate --from sqlite:DIR --to postgres --config FILE\n"
    "                   [--log-level debug|info|warn|error]\n"
    "\n"
    "  --config FILE        run with FILE (default: the embedded example config)\n"
    "  --check-config FILE  validate FILE, print 'FILE: ok' or every problem, exit 0 or 1\n"
    "  --allow-dev-secrets  start even though a listener is not loopback and the config uses\n"
    "                       the example config's public DEV-ONLY secrets (demos only)\n"
    "  --log-level LEVEL    debug, info (default), warn or error\n"
    "  --help               this text\n"
    "\n"
    "  migrate              copy the store of a single gateway (DIR: its storage.path) into the\n"
    "                       empty PostgreSQL database of FILE (storage.backend: postgres, its\n"
    "                       storage.postgres.dsn), under FILE's storage.master_key, which must be\n"
    "                       the store's; all or nothing. Stop the gateway first. Prints the rows\n"
    "                       copied per table, exit 0; on any error nothing is copied, exit 1\n"
    "                       (docs/operations.md, \"Moving from one machine to several "
    "replicas\")\n";

struct options {
  std::string config_file;
  std::string check_file;
  bool check = false;
  bool help = false;
  bool allow_dev_secrets = false;
};

struct migrate_options {
  std::string from;  ///< the SQLite store's directory (the DIR of sqlite:DIR)
  std::string config_file;
  bool help = false;
};

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

int run(const options& o) {
  // Signals are caught before any thread starts, so none of them takes the default action.
  boost::asio::io_context signals_ioc(1);
  boost::asio::signal_set signals(signals_ioc, SIGINT, SIGTERM);

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
  if (auto problems = dev_secret_problems(*cfg, o.allow_dev_secrets); !problems.empty()) {
    for (const auto& p : problems) {
      std::cerr << p << '\n';
    }
    return exit_startup;
  }

  raise_open_files_limit();

  std::unique_ptr<sb::actors::gateway> gateway;
  try {
    gateway = sb::actors::gateway::start(cfg);
  } catch (const std::exception& e) {
    std::cerr << "switchboard: cannot start: " << e.what() << '\n';
    return exit_startup;
  }

  std::unique_ptr<sb::http::server> server;
  try {
    server = std::make_unique<sb::http::server>(cfg, *gateway);
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

  int caught = 0;
  signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (!ec) {
      caught = signal_number;
    }
  });
  signals_ioc.run();

  sb::log::info("main", "signal ", caught, ": shutting down");
  server->stop();
  gateway->shutdown();
  server.reset();
  gateway.reset();
  sb::log::info("main", "stopped");
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
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
