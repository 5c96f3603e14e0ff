#include "store/pg/connection.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <optional>
#include <vector>

#include "core/crypto.hpp"
#include "core/log.hpp"

namespace sb::store::pg {

namespace {

/// libpq's message without its trailing newline.
std::string trimmed(const char* msg) {
  std::string s = msg != nullptr ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

}  // namespace

std::string text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    out.push_back('"');
    for (char ch : values[i]) {
      if (ch == '"' || ch == '\\') {
        out.push_back('\\');
      }
      out.push_back(ch);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

std::string bytea_array(const std::vector<const std::string*>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    if (values[i] == nullptr) {
      out += "NULL";
      continue;
    }
    // The element's text is \x<hex>; inside the array literal its backslash is escaped.
    out += "\"\\\\x";
    out += crypto::to_hex(reinterpret_cast<const std::uint8_t*>(values[i]->data()),
                          values[i]->size());
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

std::string redact_dsn(std::string_view dsn) {
  std::string out(dsn);
  // URI form: scheme://user:password@host...
  if (auto scheme = out.find("://"); scheme != std::string::npos) {
    const auto start = scheme + 3;
    const auto at = out.find('@', start);
    const auto colon = out.find(':', start);
    if (at != std::string::npos && colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
    // A password can also be a query parameter of the URI.
    if (auto p = out.find("password="); p != std::string::npos) {
      const auto end = out.find('&', p);
      out.replace(p + 9, (end == std::string::npos ? out.size() : end) - p - 9, "***");
    }
    return out;
  }
  // Key/value form: password=secret or password = 'se cret'.
  std::size_t p = 0;
  while ((p = out.find("password", p)) != std::string::npos) {
    std::size_t i = p + 8;
    while (i < out.size() && out[i] == ' ') {
      ++i;
    }
    if (i >= out.size() || out[i] != '=') {
      p = i;
      continue;
    }
    ++i;
    while (i < out.size() && out[i] == ' ') {
      ++i;
    }
    std::size_t end = i;
    if (end < out.size() && out[end] == '\'') {
      ++end;
      while (end < out.size() && out[end] != '\'') {
        end += out[end] == '\\' ? 2 : 1;
      }
      end = std::min(end + 1, out.size());
    } else {
      while (end < out.size() && out[end] != ' ') {
        ++end;
      }
    }
    out.replace(i, end - i, "***");
    p = i + 3;
  }
  return out;
}

rows::rows(pg_result* r) : r_(r, &PQclear) {}

int rows::size() const { return r_ ? PQntuples(r_.get()) : 0; }

int rows::columns() const { return r_ ? PQnfields(r_.get()) : 0; }

bool rows::is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }

std::string_view rows::text(int row, int col) const {
  return {PQgetvalue(r_.get(), row, col),
          static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
}

result<std::string> rows::bytes(int row, int col) const {
  const auto t = text(row, col);
  std::optional<std::string> raw;
  if (t.size() >= 2 && t[0] == '\\' && t[1] == 'x') {
    raw = crypto::from_hex(t.substr(2));
  }
  if (!raw) {
    return error{errc::internal, "a bytea value is not in hex format (bytea_output = 'hex')"};
  }
  return std::move(*raw);
}

result<std::int64_t> rows::int64(int row, int col) const {
  const auto t = text(row, col);
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc{} || ptr != t.data() + t.size()) {
    return error{errc::internal, "not an integer: '" + std::string(t) + "'"};
  }
  return v;
}

std::uint64_t rows::affected() const {
  const char* n = r_ ? PQcmdTuples(r_.get()) : "";
  std::uint64_t v = 0;
  std::from_chars(n, n + std::char_traits<char>::length(n), v);
  return v;
}

result<connection> connection::open(const std::string& dsn, const char* application) {
  std::string redacted = redact_dsn(dsn);
  // expand_dbname: `dsn` is a whole connection string or URI, as for PQconnectdb.
  const char* const keywords[] = {"dbname", "fallback_application_name", nullptr};
  const char* const values[] = {dsn.c_str(), application, nullptr};
  PGconn* c = PQconnectdbParams(keywords, values, 1);
  if (c == nullptr) {
    return error{errc::internal, "PostgreSQL (" + redacted + "): out of memory"};
  }
  if (PQstatus(c) != CONNECTION_OK) {
    std::string why = trimmed(PQerrorMessage(c));
    PQfinish(c);
    return error{errc::unavailable, "PostgreSQL (" + redacted + "): " + why};
  }
  // Notices ("relation ... already exists, skipping") are not errors: debug lines, not stderr.
  PQsetNoticeProcessor(
      c, [](void*, const char* msg) { log::debug("store", "PostgreSQL: ", trimmed(msg)); },
      nullptr);
  return connection(c, std::move(redacted));
}

connection::connection(connection&& other) noexcept
    : c_(other.c_), redacted_(std::move(other.redacted_)), prepared_(std::move(other.prepared_)) {
  other.c_ = nullptr;
  other.prepared_.clear();
}

connection& connection::operator=(connection&& other) noexcept {
  if (this != &other) {
    if (c_ != nullptr) {
      PQfinish(c_);
    }
    c_ = other.c_;
    redacted_ = std::move(other.redacted_);
    prepared_ = std::move(other.prepared_);
    other.c_ = nullptr;
    other.prepared_.clear();
  }
  return *this;
}

connection::~connection() {
  if (c_ != nullptr) {
    PQfinish(c_);
  }
}

bool connection::ok() const { return c_ != nullptr && PQstatus(c_) == CONNECTION_OK; }

int connection::socket() const { return c_ != nullptr ? PQsocket(c_) : -1; }

result<std::vector<connection::notification>> connection::notifications() {
  if (c_ == nullptr || PQconsumeInput(c_) == 0 || PQstatus(c_) != CONNECTION_OK) {
    return error{errc::unavailable,
                 "PostgreSQL (" + redacted_ + ") went away: " +
                     trimmed(c_ != nullptr ? PQerrorMessage(c_) : "not connected")};
  }
  std::vector<notification> out;
  while (PGnotify* n = PQnotifies(c_)) {
    out.push_back({n->relname != nullptr ? n->relname : "", n->extra != nullptr ? n->extra : ""});
    PQfreemem(n);
  }
  return out;
}

int connection::server_major_version() const {
  return c_ != nullptr ? PQserverVersion(c_) / 10000 : 0;
}

result<const std::string*> connection::prepared(const char* sql, int n_params) {
  if (auto it = prepared_.find(sql); it != prepared_.end()) {
    return &it->second;
  }
  std::string name = "sb" + std::to_string(prepared_.size() + 1);
  PGresult* r = PQprepare(c_, name.c_str(), sql, n_params, nullptr);
  const bool ok = r != nullptr && PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string why = ok ? std::string() : trimmed(PQresultErrorMessage(r));
  const char* state = (!ok && r != nullptr) ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  if (state != nullptr) {
    why += std::string(" (SQLSTATE ") + state + ")";
  }
  PQclear(r);
  if (!ok) {
    if (PQstatus(c_) != CONNECTION_OK) {
      return error{errc::unavailable, "PostgreSQL (" + redacted_ +
                                          "): connection lost: " + trimmed(PQerrorMessage(c_))};
    }
    return error{errc::internal, "PostgreSQL: " + why};
  }
  return &prepared_.emplace(sql, std::move(name)).first->second;
}

result<rows> connection::exec(const char* sql, std::initializer_list<param> params) {
  return exec(sql, params.begin(), params.size());
}

result<rows> connection::exec(const char* sql, const std::vector<param>& params) {
  return exec(sql, params.data(), params.size());
}

result<rows> connection::exec(const char* sql, const param* params, std::size_t count) {
  if (c_ == nullptr) {
    return error{errc::unavailable, "PostgreSQL: not connected"};
  }
  const int n = static_cast<int>(count);
  std::vector<const char*> values(count);
  std::vector<int> lengths(count);
  std::vector<int> formats(count);
  // Text values need their terminating NUL; views may lack one, so text is copied here.
  std::vector<std::string> texts;
  texts.reserve(count);
  int i = 0;
  for (const param* p = params; p != params + count; ++p) {
    if (p->null) {
      values[i] = nullptr;
    } else if (p->binary) {
      values[i] = p->value.data();
      lengths[i] = static_cast<int>(p->value.size());
      formats[i] = 1;
    } else {
      texts.emplace_back(p->value);
      values[i] = texts.back().c_str();
    }
    ++i;
  }
  // Without parameters, the simple query protocol: `sql` may hold several statements.
  PGresult* r = nullptr;
  if (n == 0) {
    r = PQexec(c_, sql);
  } else {
    auto name = prepared(sql, n);
    if (!name) {
      return name.err();
    }
    r = PQexecPrepared(c_, (*name)->c_str(), n, values.data(), lengths.data(), formats.data(), 0);
  }
  rows out(r);
  const auto st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    return out;
  }
  if (PQstatus(c_) != CONNECTION_OK) {
    return error{errc::unavailable,
                 "PostgreSQL (" + redacted_ + "): connection lost: " + trimmed(PQerrorMessage(c_))};
  }
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return error{errc::internal, "PostgreSQL: " + trimmed(PQresultErrorMessage(r)) +
                                   (state != nullptr ? std::string(" (SQLSTATE ") + state + ")"
                                                     : std::string())};
}

}  // namespace sb::store::pg
