// `switchboard backup` and `switchboard restore` (store/sqlite/backup.hpp): a consistent copy of
// a running gateway's SQLite store, and its checked return.

#include <chrono>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "adapters/adapter.hpp"
#include "commands.hpp"
#include "config/loader.hpp"
#include "core/time.hpp"
#include "store/sqlite/backup.hpp"

namespace sb::cli {

namespace {

constexpr int exit_ok = 0;
constexpr int exit_backup_failed = 1;

constexpr std::string_view usage =
    "usage: switchboard backup --config FILE DIR\n"
    "       switchboard restore --config FILE [--force] DIR\n"
    "\n"
    "  backup               copy the SQLite store of FILE (its storage.path) into DIR (new or\n"
    "                       empty) while the gateway runs: a consistent copy of each database\n"
    "                       and DIR/manifest.json (sizes, SHA-256, schema versions, the master\n"
    "                       key's fingerprint). Exit 0, or 1 on any error\n"
    "  restore              put the backup in DIR into FILE's storage.path, checked against its\n"
    "                       manifest and FILE's master key. Stop the gateway first. Refuses a\n"
    "                       storage.path that holds a store unless --force (which moves it into\n"
    "                       storage.path/pre-restore-<time>/ and lists its erasures newer than\n"
    "                       the backup). Exit 0, or 1 with nothing changed\n"
    "  (docs/operations.md, \"Backup and restore\")\n";

struct backup_options {
  std::string config_file;
  std::string dir;     ///< the backup's directory
  bool force = false;  ///< restore only: replace a store that is there
  bool help = false;
};

/// Parses `switchboard backup|restore` (argv[2] on); on a usage error prints it and returns false.
bool parse_backup_args(const std::string& command, int argc, char** argv, backup_options& o) {
  const std::string me = "switchboard " + command + ": ";
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      o.help = true;
      return true;
    } else if (arg == "--config") {
      if (i + 1 >= argc) {
        std::cerr << me << arg << " needs a value\n" << usage;
        return false;
      }
      o.config_file = argv[++i];
    } else if (arg == "--force" && command == "restore") {
      o.force = true;
    } else if (!arg.empty() && arg[0] != '-' && o.dir.empty()) {
      o.dir = std::string(arg);
    } else {
      std::cerr << me << "unknown argument '" << arg << "'\n" << usage;
      return false;
    }
  }
  if (o.config_file.empty()) {
    std::cerr << me << "--config FILE is required (the gateway's config: storage.path and "
              << "storage.master_key)\n"
              << usage;
    return false;
  }
  if (o.dir.empty()) {
    std::cerr << me << "DIR is required (the backup's directory)\n" << usage;
    return false;
  }
  return true;
}

/// FILE's config when its store is SQLite; else prints why not (every problem of an invalid
/// file; what to use for PostgreSQL) and answers null.
std::shared_ptr<const config::config> load_sqlite_config(const std::string& command,
                                                         const std::string& file) {
  const std::string me = "switchboard " + command + ": ";
  auto loaded = config::load_file(file, adapters::schemas());
  if (!loaded.ok()) {
    for (const auto& problem : loaded.errors.problems) {
      std::cerr << problem << '\n';
    }
    std::cerr << me << file << " is not valid; nothing was copied\n";
    return nullptr;
  }
  const auto& storage = loaded.cfg->storage;
  if (storage.backend == "postgres") {
    std::cerr << me << file << ": storage.backend is postgres: its backups are PostgreSQL's job "
              << "(pg_dump), not switchboard's. For example:\n"
              << "  pg_dump --format=custom --file=switchboard.dump \"$DSN\"\n"
              << "  pg_restore --clean --if-exists --dbname=\"$DSN\" switchboard.dump\n"
              << "with DSN your storage.postgres.dsn (docs/operations.md, \"Backup and "
                 "restore\"); nothing was copied\n";
    return nullptr;
  }
  if (storage.backend != "sqlite") {
    std::cerr << me << file << ": storage.backend is '" << storage.backend
              << "': nothing of it is on disk, nothing to copy\n";
    return nullptr;
  }
  return loaded.cfg;
}

void print_files(std::ostream& out, const store::backup::manifest& m) {
  for (const auto& f : m.files) {
    out << "  " << std::left << std::setw(16) << f.name << std::right << " schema "
        << f.schema_version << "  " << std::setw(12) << f.bytes << " bytes  sha256 " << f.sha256
        << '\n';
  }
  for (const auto& [tenant, seq] : m.heads) {
    out << "  tenant " << tenant << ": seqs up to " << seq << '\n';
  }
  out << "  master key fingerprint " << m.key_fingerprint << '\n';
}

/// `switchboard backup`: copies the store and prints what the backup holds.
int backup(const backup_options& o) {
  auto cfg = load_sqlite_config("backup", o.config_file);
  if (!cfg) {
    return exit_backup_failed;
  }
  const auto started = std::chrono::steady_clock::now();
  auto m = store::backup::take_backup(cfg->storage.path, o.dir, cfg->storage.master_key);
  if (!m) {
    std::cerr << "switchboard backup: " << m.err().message << "\n"
              << "switchboard backup: no backup was written\n";
    return exit_backup_failed;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  std::ostringstream out;
  out << "switchboard backup: copied the store in " << cfg->storage.path << " into " << o.dir
      << " in " << ms << " ms (snapshot of " << m->created_at << ")\n";
  print_files(out, *m);
  out << "Restore it with: switchboard restore --config " << o.config_file << " " << o.dir
      << " (gateway stopped). Keep the master key apart from the backup.\n";
  std::cout << out.str();
  return exit_ok;
}

/// `switchboard restore`: puts a backup in place and prints what it did and what is left to do.
int restore(const backup_options& o) {
  auto cfg = load_sqlite_config("restore", o.config_file);
  if (!cfg) {
    return exit_backup_failed;
  }
  auto r =
      store::backup::restore_backup(o.dir, cfg->storage.path, cfg->storage.master_key, o.force);
  if (!r) {
    std::cerr << "switchboard restore: " << r.err().message << "\n"
              << "switchboard restore: nothing was restored\n";
    return exit_backup_failed;
  }
  const auto& m = r->restored;
  std::ostringstream out;
  out << "switchboard restore: restored the backup in " << o.dir << " (snapshot of " << m.created_at
      << ", from " << m.source << ") into " << cfg->storage.path << '\n';
  print_files(out, m);
  if (!r->moved_aside.empty()) {
    out << "The store that was there is in " << r->moved_aside
        << " (remove it once the restored store is checked).\n";
    if (r->erasures_after_backup.empty()) {
      out << "No erasure was recorded in it after " << m.created_at << ".\n";
    } else {
      out << r->erasures_after_backup.size() << " erasure(s) recorded after " << m.created_at
          << " are not in the backup: carry them out again before the gateway serves "
             "(docs/operations.md, \"Erasure and backups\"):\n";
      for (const auto& e : r->erasures_after_backup) {
        out << "  " << to_rfc3339(timestamp{e.at_ms, true}) << "  tenant " << e.tenant << "  "
            << e.action;
        if (!e.subject.empty()) {
          out << "  subject " << e.subject << "  -> DELETE /v1/subjects/" << e.subject;
        }
        out << "  (" << e.actor << "; " << e.detail << ")\n";
      }
    }
  } else {
    out << "Erasures carried out after " << m.created_at
        << " are not in this backup: carry them out again before the gateway serves (the old "
           "store's audit log lists them; docs/operations.md, \"Erasure and backups\").\n";
  }
  out << "Start the gateway with " << o.config_file << ".\n";
  std::cout << out.str();
  return exit_ok;
}

}  // namespace

int backup_or_restore(int argc, char** argv) {
  const std::string command = argv[1];
  backup_options b;
  if (!parse_backup_args(command, argc, argv, b)) {
    return exit_backup_failed;
  }
  if (b.help) {
    std::cout << usage;
    return exit_ok;
  }
  try {
    return command == "backup" ? backup(b) : restore(b);
  } catch (const std::exception& e) {
    std::cerr << "switchboard " << command << ": " << e.what() << '\n';
    return exit_backup_failed;
  }
}

}  // namespace sb::cli
