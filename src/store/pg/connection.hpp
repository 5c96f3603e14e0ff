#pragma once

// One PostgreSQL connection through libpq, for the PostgreSQL stores of several replicas
// (issue 13; docs/DESIGN.md §1). Errors are values: a refused connection or a failed statement
// comes back as `errc::unavailable` (the server cannot be reached or went away: the caller
// answers 503 with Retry-After) or `errc::internal` (the statement itself failed), with a message
// that names the server and database but never a password.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"

struct pg_conn;
struct pg_result;

namespace sb::store::pg {

/// A parameter of `connection::exec`: text (`$1` of any type PostgreSQL can parse from text),
/// raw bytes (a `bytea` parameter, sent in binary: no escaping), or NULL. Views: the bytes must
/// outlive the call.
struct param {
  std::string_view value;
  bool binary = false;
  bool null = false;

  param(std::string_view text) : value(text) {}  // NOLINT: text is the usual case
  param(const std::string& text) : value(text) {}  // NOLINT
  param(const char* text) : value(text) {}         // NOLINT
  static param bytes(std::string_view raw) {
    param p{raw};
    p.binary = true;
    return p;
  }
  static param null_value() {
    param p{std::string_view{}};
    p.null = true;
    return p;
  }
};

/// The rows of one statement (text format), or how many rows it changed.
class rows {
 public:
  rows() = default;
  explicit rows(pg_result* r);

  int size() const;
  int columns() const;
  bool is_null(int row, int col) const;
  /// The value as PostgreSQL printed it ("" for NULL).
  std::string_view text(int row, int col) const;
  /// A `bytea` value: the bytes, decoded from PostgreSQL's hex output ("\x4142" -> "AB").
  result<std::string> bytes(int row, int col) const;
  /// An integer column; an error when the value is not one.
  result<std::int64_t> int64(int row, int col) const;
  /// Rows an INSERT, UPDATE or DELETE changed.
  std::uint64_t affected() const;

 private:
  std::shared_ptr<pg_result> r_;
};

/// A value as a BIGINT parameter takes it; an unsigned one past BIGINT's range is clamped to its
/// top (a bound such as `event_log::k_unbounded` then still bounds nothing).
inline std::string bigint(std::int64_t v) { return std::to_string(v); }
inline std::string bigint(std::uint64_t v) {
  return std::to_string(std::min<std::uint64_t>(v, std::numeric_limits<std::int64_t>::max()));
}

/// A PostgreSQL array literal of `values` (`{"a","b"}`) for a parameter cast to `text[]` or
/// `bigint[]`: one statement then takes a whole batch (`unnest`), one round trip instead of one
/// per row. Every element is quoted, with `"` and `\` escaped.
std::string text_array(const std::vector<std::string>& values);

/// As `text_array`, for a `bytea[]` parameter: each element as PostgreSQL's hex form; a null
/// pointer is a NULL element.
std::string bytea_array(const std::vector<const std::string*>& values);

/// The connection string with any password replaced by "***", for messages and logs: both the
/// key/value form (`password=secret`) and the URI form (`postgresql://user:secret@host/db`).
std::string redact_dsn(std::string_view dsn);

/// Not thread-safe: one thread uses a connection at a time (a pool hands them out).
class connection {
 public:
  /// Connects with a libpq connection string or URI. `errc::unavailable` when the server cannot
  /// be reached or refuses the login; the message names the redacted `dsn` and libpq's reason.
  /// The session's `application_name` is `application` unless the DSN sets one (libpq's
  /// `fallback_application_name`): `k_gateway_application` names a gateway's sessions in
  /// `pg_stat_activity`, which `rotate-master-key` counts to refuse while a replica runs.
  static result<connection> open(const std::string& dsn,
                                 const char* application = k_gateway_application);

  /// The `application_name` of a gateway's sessions.
  static constexpr const char* k_gateway_application = "switchboard";

  connection() = default;
  connection(connection&& other) noexcept;
  connection& operator=(connection&& other) noexcept;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();

  /// Runs one statement with `$1`, `$2`, ... bound to `params` (no SQL is ever built from
  /// values), prepared once per connection: `sql` must be a string literal or otherwise outlive
  /// the connection, and mean the same text at every call. Without parameters, `sql` may hold several statements separated by `;` (a schema
  /// version's script); the rows are then the last statement's. `errc::unavailable` when the connection is gone, `errc::internal` with the
  /// server's message (and SQLSTATE) when the statement failed.
  [[nodiscard]] result<rows> exec(const char* sql, std::initializer_list<param> params = {});

  /// As above, with as many parameters as `params` holds (a statement whose parameters are
  /// counted at run time, e.g. one array per column of a copied table).
  [[nodiscard]] result<rows> exec(const char* sql, const std::vector<param>& params);

  /// True while libpq reports the connection as usable.
  bool ok() const;

  /// A notification this session received (`LISTEN`): the channel and the payload.
  struct notification {
    std::string channel;
    std::string payload;
  };

  /// The socket to wait on for notifications (poll for reading), or -1 without a connection.
  int socket() const;

  /// Reads what the server sent without blocking and returns the notifications received, in
  /// the order the server sent them (for one channel: the order the notifying transactions
  /// committed). `errc::unavailable` when the connection is gone.
  [[nodiscard]] result<std::vector<notification>> notifications();

  /// The server's major version (15 for 15.x).
  int server_major_version() const;

 private:
  explicit connection(pg_conn* c, std::string redacted) : c_(c), redacted_(std::move(redacted)) {}

  /// The name `sql` is prepared under on this connection, preparing it the first time: each
  /// statement of the stores is parsed and planned once per connection, not once per call.
  result<const std::string*> prepared(const char* sql, int n_params);

  /// Both `exec`s: `count` parameters at `params`.
  result<rows> exec(const char* sql, const param* params, std::size_t count);

  pg_conn* c_ = nullptr;
  std::string redacted_;  // the connection string without its password, for messages
  // By the statement text's address: the stores pass string literals, which do not move.
  std::unordered_map<const char*, std::string> prepared_;
};

/// A transaction on a connection: BEGIN by `begin`, COMMIT by `commit`, ROLLBACK when destroyed
/// in between (an early return on an error leaves nothing half done, and the connection clean
/// for its next user).
class transaction {
 public:
  explicit transaction(connection& c) : c_(c) {}
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction() {
    if (open_) {
      (void)c_.exec("ROLLBACK");
    }
  }
  [[nodiscard]] status begin() {
    if (auto r = c_.exec("BEGIN"); !r) {
      return r.err();
    }
    open_ = true;
    return {};
  }
  [[nodiscard]] status commit() {
    open_ = false;
    if (auto r = c_.exec("COMMIT"); !r) {
      return r.err();
    }
    return {};
  }

 private:
  connection& c_;
  bool open_ = false;
};

}  // namespace sb::store::pg
