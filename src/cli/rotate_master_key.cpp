// `switchboard rotate-master-key`: re-wraps the store's data keys under a new master key
// (store/root_key.hpp). The new key is read from a file or standard input, never from the
// command line, where `ps` and shell histories would show it.

#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>

#include "adapters/adapter.hpp"
#include "commands.hpp"
#include "config/loader.hpp"
#include "core/crypto.hpp"
#include "store/root_key.hpp"

namespace sb::cli {

namespace {

constexpr int k_exit_ok = 0;
constexpr int k_exit_failed = 1;
constexpr std::string_view k_me = "switchboard rotate-master-key: ";

constexpr std::string_view k_usage =
    "usage: switchboard rotate-master-key --config FILE --new-key-file PATH|-\n"
    "\n"
    "  Re-wraps every data key of FILE's store (storage.path, or storage.postgres.dsn) under a\n"
    "  new master key, in one transaction; no event is re-encrypted. FILE's storage.master_key\n"
    "  must be the store's current key. PATH holds the new key, 64 hex characters (generate one\n"
    "  with `openssl rand -hex 32`); - reads it from standard input. Stop the gateway (every\n"
    "  replica) first. Afterwards only the new key opens the store: put it into FILE's\n"
    "  storage.master_key before starting the gateway. Exit 0, or 1 with nothing changed\n"
    "  (docs/operations.md, \"Rotating the master key\").\n";

struct options {
  std::string config_file;
  std::string key_file;
  bool help = false;
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      o.help = true;
      return true;
    }
    if (arg == "--config" || arg == "--new-key-file") {
      if (i + 1 >= argc) {
        std::cerr << k_me << arg << " needs a value\n" << k_usage;
        return false;
      }
      (arg == "--config" ? o.config_file : o.key_file) = argv[++i];
    } else if (arg == "--new-key" || arg.rfind("--new-key=", 0) == 0) {
      std::cerr << k_me << "the new key is not taken on the command line (other users see it in "
                << "`ps`, and it stays in the shell's history): use --new-key-file PATH, or - for "
                << "standard input\n";
      return false;
    } else {
      std::cerr << k_me << "unknown argument '" << arg << "'\n" << k_usage;
      return false;
    }
  }
  if (o.config_file.empty() || o.key_file.empty()) {
    std::cerr << k_me << (o.config_file.empty() ? "--config FILE" : "--new-key-file PATH|-")
              << " is required\n"
              << k_usage;
    return false;
  }
  return true;
}

/// The new key: 64 hex characters, surrounding whitespace ignored; else prints why and answers
/// "".
std::string read_new_key(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::cerr << k_me << "cannot read " << path << "\n";
      return {};
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
      std::cerr << k_me << "warning: " << path
                << " can be read by other users than its owner (chmod 600 it)\n";
    }
  }
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  const std::string hex = first == std::string::npos ? "" : text.substr(first, last - first + 1);
  auto raw = crypto::from_hex(hex);
  if (hex.size() != 64 || !raw) {
    std::cerr << k_me << (path == "-" ? std::string("standard input") : path)
              << " must hold the new key as 64 hex characters (32 bytes); generate one with "
                 "`openssl rand -hex 32`\n";
    return {};
  }
  return *raw;
}

}  // namespace

int rotate_master_key(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    return k_exit_failed;
  }
  if (o.help) {
    std::cout << k_usage;
    return k_exit_ok;
  }
  auto loaded = config::load_file(o.config_file, adapters::schemas());
  if (!loaded.ok()) {
    for (const auto& problem : loaded.errors.problems) {
      std::cerr << problem << '\n';
    }
    std::cerr << k_me << o.config_file << " is not valid; nothing was changed\n";
    return k_exit_failed;
  }
  const auto new_key = read_new_key(o.key_file);
  if (new_key.empty()) {
    std::cerr << k_me << "nothing was changed\n";
    return k_exit_failed;
  }
  const auto& storage = loaded.cfg->storage;
  auto report = store::rotate_master_key(storage, new_key);
  if (!report) {
    std::cerr << k_me << report.err().message << "\n" << k_me << "nothing was changed\n";
    return k_exit_failed;
  }
  const std::string where =
      storage.backend == "sqlite" ? storage.path : std::string("the PostgreSQL database");
  std::ostringstream out;
  out << k_me << "re-wrapped " << report->data_keys << " data key(s) of the store in " << where
      << " under the new master key; no event was re-encrypted"
      << (report->first ? " (the store's first rotation: its root key is now kept in it, "
                          "wrapped under the new key)"
                        : "")
      << ".\n"
      << "The old key no longer opens the store. Put the new key into storage.master_key of "
      << o.config_file
      << " (or the variable it reads) before the gateway starts, and keep the old key only for "
         "backups taken before now, which open with it alone.\n";
  std::cout << out.str();
  return k_exit_ok;
}

}  // namespace sb::cli
