#include "support/pg_cluster.hpp"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sb::test {

namespace {

constexpr int k_port = 5432;  // only names the socket file, in a directory of this cluster's own

/// The directory of PostgreSQL's server tools: $SB_PG_BINDIR, `pg_config --bindir` (libpq-dev),
/// or the newest /usr/lib/postgresql/<major>/bin that has `initdb`.
std::string find_bindir() {
  if (const char* env = std::getenv("SB_PG_BINDIR"); env != nullptr && *env != '\0') {
    return env;
  }
  if (FILE* p = ::popen("pg_config --bindir 2>/dev/null", "r"); p != nullptr) {
    std::array<char, 512> buf{};
    std::string out;
    while (std::fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) {
      out += buf.data();
    }
    ::pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
      out.pop_back();
    }
    if (!out.empty() && std::filesystem::exists(out + "/initdb")) {
      return out;
    }
  }
  std::string best;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const auto bin = e.path() / "bin";
    if (std::filesystem::exists(bin / "initdb") && bin.string() > best) {
      best = bin.string();
    }
  }
  if (best.empty()) {
    throw std::runtime_error(
        "pg_cluster: no PostgreSQL server tools (initdb) found; install the postgresql package "
        "(scripts/bootstrap) or set SB_PG_BINDIR");
  }
  return best;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

pg_cluster::pg_cluster() : bindir_(find_bindir()) {
  std::string pattern = "/tmp/sb-pg-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("pg_cluster: mkdtemp failed");
  }
  root_ = pattern;
  as_postgres_ = ::geteuid() == 0;
  if (as_postgres_) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr || ::chown(root_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      std::filesystem::remove_all(root_);
      throw std::runtime_error("pg_cluster: running as root needs the postgres user to own " +
                               root_ + " (install the postgresql package)");
    }
    user_ = "postgres";
  } else {
    const passwd* pw = ::getpwuid(::geteuid());
    user_ = pw != nullptr ? pw->pw_name : "postgres";
  }
  try {
    // trust: the socket lives in a directory only this cluster's owner (and root) can enter.
    run(bindir_ + "/initdb -D " + root_ + "/data -U " + user_ +
            " --auth=trust --no-sync -E UTF8 --no-locale > " + root_ + "/initdb.log 2>&1",
        root_ + "/initdb.log");
    run(bindir_ + "/pg_ctl -D " + root_ + "/data -l " + root_ + "/server.log -w -t 60 -o \"-k " +
            root_ + " -p " + std::to_string(k_port) + " -c listen_addresses=\" start > " +
            root_ + "/pg_ctl.log 2>&1",
        root_ + "/server.log");
    started_ = true;
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
    throw;
  }
}

pg_cluster::~pg_cluster() {
  if (started_) {
    try {
      run(bindir_ + "/pg_ctl -D " + root_ + "/data -m immediate -w stop > /dev/null 2>&1",
          root_ + "/server.log");
    } catch (...) {
      // Left running, its directory is removed below and it exits when it notices.
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

std::string pg_cluster::dsn(const std::string& dbname) const {
  return "host=" + root_ + " port=" + std::to_string(k_port) + " dbname=" + dbname +
         " user=" + user_;
}

void pg_cluster::run(const std::string& command, const std::string& log) const {
  const std::string line =
      as_postgres_ ? "runuser -u postgres -- sh -c '" + command + "'" : command;
  const int rc = std::system(line.c_str());
  if (rc != 0) {
    throw std::runtime_error("pg_cluster: `" + command + "` failed (" + std::to_string(rc) +
                             "):\n" + read_file(log));
  }
}

}  // namespace sb::test
