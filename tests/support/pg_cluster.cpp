#include "support/pg_cluster.hpp"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sb::test {

namespace {

constexpr int k_port = 5432;  // only names the socket file, in a directory of the cluster's own

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

/// Who runs the server: `postgres` when this process is root, else this process's user.
std::string server_user() {
  if (::geteuid() == 0) {
    return "postgres";
  }
  const passwd* pw = ::getpwuid(::geteuid());
  return pw != nullptr ? pw->pw_name : "postgres";
}

/// Runs `command` (a shell command line of this fixture's own, never of test input), as the
/// `postgres` user when this process is root; throws with `log`'s contents when it fails.
void run(const std::string& command, const std::string& log) {
  const std::string line =
      ::geteuid() == 0 ? "runuser -u postgres -- sh -c '" + command + "'" : command;
  const int rc = std::system(line.c_str());
  if (rc != 0) {
    throw std::runtime_error("pg_cluster: `" + command + "` failed (" + std::to_string(rc) +
                             "):\n" + read_file(log));
  }
}

/// Gives `dir` to the server's user (as root), so it can write its data and socket there.
void own(const std::string& dir) {
  if (::geteuid() != 0) {
    return;
  }
  const passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr || ::chown(dir.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw std::runtime_error("pg_cluster: running as root needs the postgres user to own " + dir +
                             " (install the postgresql package)");
  }
}

/// `initdb` into `dir`/data and the server started on a socket in `dir`.
void init_and_start(const std::string& dir) {
  const std::string bin = find_bindir();
  // trust: the socket lives in a directory only the cluster's owner (and root) can enter.
  run(bin + "/initdb -D " + dir + "/data -U " + server_user() +
          " --auth=trust --no-sync -E UTF8 --no-locale > " + dir + "/initdb.log 2>&1",
      dir + "/initdb.log");
  run(bin + "/pg_ctl -D " + dir + "/data -l " + dir + "/server.log -w -t 60 -o \"-k " + dir +
          " -p " + std::to_string(k_port) + " -c listen_addresses=\" start > " + dir +
          "/pg_ctl.log 2>&1",
      dir + "/server.log");
}

void stop_server(const std::string& dir) {
  if (!std::filesystem::exists(dir + "/data/postmaster.pid")) {
    return;
  }
  try {
    run(find_bindir() + "/pg_ctl -D " + dir + "/data -m immediate -w stop > /dev/null 2>&1",
        dir + "/server.log");
  } catch (...) {
    // Left running, its directory is removed next and it exits when it notices.
  }
}

/// Runs one SQL command of this fixture's own on the cluster in `dir`, through psql.
void psql(const std::string& dir, const std::string& sql) {
  const std::string log = dir + "/psql-" + std::to_string(::getpid()) + ".log";
  run(find_bindir() + "/psql -X -q -v ON_ERROR_STOP=1 -h " + dir + " -p " +
          std::to_string(k_port) + " -U " + server_user() + " -d postgres -c \"" + sql +
          "\" > " + log + " 2>&1",
      log);
  std::error_code ec;
  std::filesystem::remove(log, ec);
}

}  // namespace

pg_cluster::pg_cluster(bool own_cluster) : user_(server_user()) {
  if (const char* shared = std::getenv("SB_TEST_PG_SHARED");
      !own_cluster && shared != nullptr && *shared != '\0') {
    static std::atomic<int> counter{0};
    root_ = shared;
    db_ = "sbt_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    psql(root_, "CREATE DATABASE " + db_);
    return;
  }
  std::string pattern = "/tmp/sb-pg-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("pg_cluster: mkdtemp failed");
  }
  root_ = pattern;
  try {
    own(root_);
    init_and_start(root_);
    own_ = true;
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
    throw;
  }
}

pg_cluster::~pg_cluster() {
  if (!own_) {
    try {
      psql(root_, "DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
    } catch (...) {
      // The shared cluster goes with the run.
    }
    return;
  }
  stop_server(root_);
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

void pg_cluster::pause() {
  if (!own_) {
    throw std::runtime_error("pg_cluster: only a cluster of its own can be stopped");
  }
  run(find_bindir() + "/pg_ctl -D " + root_ + "/data -m fast -w stop > /dev/null 2>&1",
      root_ + "/server.log");
}

void pg_cluster::resume() {
  if (!own_) {
    throw std::runtime_error("pg_cluster: only a cluster of its own can be started");
  }
  run(find_bindir() + "/pg_ctl -D " + root_ + "/data -l " + root_ + "/server.log -w -t 60 -o \"-k " +
          root_ + " -p " + std::to_string(k_port) + " -c listen_addresses=\" start > " + root_ +
          "/pg_ctl.log 2>&1",
      root_ + "/server.log");
}

std::string pg_cluster::dsn(const std::string& dbname) const {
  return "host=" + root_ + " port=" + std::to_string(k_port) + " dbname=" + dbname +
         " user=" + user_;
}

void pg_cluster::start_shared(const std::string& dir) {
  stop_server(dir);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!std::filesystem::create_directories(dir, ec) || ec) {
    throw std::runtime_error("pg_cluster: cannot create " + dir);
  }
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  own(dir);
  init_and_start(dir);
}

void pg_cluster::stop_shared(const std::string& dir) {
  stop_server(dir);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace sb::test
