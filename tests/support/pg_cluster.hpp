#pragma once

// A throwaway PostgreSQL database for the tests of the PostgreSQL stores (issue 13). As root (CI
// containers), the server's tools run as the `postgres` user, since PostgreSQL refuses to run as
// root. Tests only.
//
// Two ways to get one:
// - Under CTest, one cluster serves the whole run: the fixture tests `pg_cluster.start` and
//   `pg_cluster.stop` (tests/CMakeLists.txt) run `sb_pg_cluster start|stop DIR`, and every
//   integration test finds DIR in $SB_TEST_PG_SHARED. Each `pg_cluster` then creates a database
//   of its own there (and drops it at the end), so tests running at once never meet.
// - Without it (a test binary run by hand), each `pg_cluster` starts a cluster of its own:
//   `initdb` into a fresh directory under /tmp, the server on a Unix socket in that directory
//   only (no TCP), stopped and removed at the end.

#include <string>

namespace sb::test {

class pg_cluster {
 public:
  /// A fresh database, in the shared cluster or in a cluster of its own (above); throws
  /// std::runtime_error with the tools' output when it cannot (the `postgresql` package
  /// missing, `initdb`, `pg_ctl` or `psql` failing).
  pg_cluster() : pg_cluster(false) {}
  /// `own_cluster`: a cluster of its own even under CTest (a test that stops the server).
  explicit pg_cluster(bool own_cluster);
  /// Drops the database, or stops the own cluster at once (`-m immediate`) and removes it.
  ~pg_cluster();
  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;

  /// A libpq connection string for this test's database (or `dbname`) as the superuser.
  std::string dsn() const { return dsn(db_); }
  std::string dsn(const std::string& dbname) const;
  /// The directory that holds the server's socket (and, for an own cluster, its data and logs).
  const std::string& dir() const { return root_; }

  /// Stops the server (`-m fast`: sessions are cut) and starts it again, for tests of a
  /// database that goes away. A cluster of its own only (throws in the shared one).
  void pause();
  void resume();

  /// `sb_pg_cluster start DIR`: a cluster in DIR (made afresh: a server left there by an
  /// interrupted run is stopped first) that outlives this process.
  static void start_shared(const std::string& dir);
  /// `sb_pg_cluster stop DIR`: stops it and removes DIR.
  static void stop_shared(const std::string& dir);

 private:
  struct tools;
  std::string root_;
  std::string db_ = "postgres";
  std::string user_;
  bool own_ = false;  // a cluster of its own, stopped and removed by the destructor
};

}  // namespace sb::test
