#pragma once

// A throwaway PostgreSQL cluster for the tests of the PostgreSQL stores (issue 13): `initdb` into
// a fresh directory under /tmp, the server on a Unix socket in that directory only (no TCP), torn
// down and removed when the test ends. As root (CI containers), the server's tools run as the
// `postgres` user, since PostgreSQL refuses to run as root. Tests only.

#include <string>

namespace sb::test {

class pg_cluster {
 public:
  /// Starts the cluster; throws std::runtime_error with the tools' output when it cannot (the
  /// `postgresql` package missing, `initdb` or `pg_ctl` failing).
  pg_cluster();
  /// Stops the server at once (`-m immediate`) and removes the directory.
  ~pg_cluster();
  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;

  /// A libpq connection string for database `dbname` as the cluster's superuser.
  std::string dsn(const std::string& dbname = "postgres") const;
  /// The directory that holds the data, the logs and the server's socket.
  const std::string& dir() const { return root_; }

 private:
  /// Runs `command` (a shell command line of this fixture's own, never of test input), as the
  /// `postgres` user when the test runs as root; throws with `log`'s contents when it fails.
  void run(const std::string& command, const std::string& log) const;

  std::string root_;
  std::string bindir_;
  std::string user_;
  bool as_postgres_ = false;
  bool started_ = false;
};

}  // namespace sb::test
