#include "store/sqlite/backup.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "store/codec.hpp"
#include "store/outbox_codec.hpp"
#include "store/root_key.hpp"
#include "store/sqlite_util.hpp"

namespace sb::store::backup {

namespace {

namespace fs = std::filesystem;
using sqlite::connection;
using sqlite::query;
using sqlite::stmt;

constexpr std::string_view k_store_file = "switchboard.db";
constexpr std::string_view k_outbox_file = "outbox.db";
constexpr std::string_view k_fingerprint_label = "switchboard/backup/key-fingerprint/v1";
constexpr int k_busy_timeout_ms = 5000;
constexpr const char* k_prefix = "backup";

// The audit actions that remove a person's data (docs/privacy.md): what a restore of an older
// backup must carry out again.
constexpr const char* k_erasure_actions = "'erase', 'redact', 'deletion_callback', 'shop_redact'";

error io_error(const std::string& what) {
  return {errc::internal, what + ": " + std::strerror(errno)};
}

/// fsyncs a file or a directory, so a rename or a copy survives a crash.
status sync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return io_error("cannot open " + path);
  }
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) {
    return io_error("cannot sync " + path);
  }
  return {};
}

status write_file(const std::string& path, std::string_view bytes) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      return io_error("cannot write " + path);
    }
  }
  return sync_path(path);
}

result<std::int64_t> user_version(sqlite3* db) {
  auto v = sqlite::scalar_text(db, "PRAGMA user_version");
  if (!v) {
    return v.err();
  }
  return std::strtoll(v->c_str(), nullptr, 10);
}

/// Whether `db` has a table named `name`.
result<bool> has_table(sqlite3* db, const char* name) {
  stmt s;
  if (auto st = sqlite::prepare(
          db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1", s, k_prefix);
      !st) {
    return st.err();
  }
  query q(s);
  q.text(1, name);
  const int rc = q.step();
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc != SQLITE_DONE) {
    return sqlite::sql_error(db, rc, "read the schema", k_prefix);
  }
  return false;
}

/// One source database held at one snapshot: a connection inside a read transaction that has
/// read (a WAL snapshot begins at the first read, not at BEGIN).
struct snapshot {
  connection conn;
  std::string path;
  bool open_tx = false;

  status begin(const std::string& p) {
    path = p;
    if (auto st =
            sqlite::open_connection(path, SQLITE_OPEN_READWRITE, conn, k_busy_timeout_ms, k_prefix);
        !st) {
      return st;
    }
    if (auto st = sqlite::exec(conn.db, "BEGIN", k_prefix); !st) {
      return st;
    }
    open_tx = true;
    if (auto n = sqlite::scalar_text(conn.db, "SELECT COUNT(*) FROM sqlite_schema"); !n) {
      return n.err();
    }
    return {};
  }

  ~snapshot() {
    if (open_tx) {
      sqlite3_exec(conn.db, "COMMIT", nullptr, nullptr, nullptr);
    }
  }
};

/// Copies `src`'s snapshot into a new file `dest_path` with the online backup API, in one step
/// (inside `src`'s read transaction, so the copy is that snapshot), then makes the copy a
/// self-contained rollback-journal file and checks it.
status copy_database(snapshot& src, const std::string& dest_path) {
  connection dest;
  if (auto st = sqlite::open_connection(dest_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, dest,
                                        k_busy_timeout_ms, k_prefix);
      !st) {
    return st;
  }
  sqlite3_backup* b = sqlite3_backup_init(dest.db, "main", src.conn.db, "main");
  if (b == nullptr) {
    return sqlite::sql_error(dest.db, sqlite3_errcode(dest.db), "backup of " + src.path, k_prefix);
  }
  const int step = sqlite3_backup_step(b, -1);
  const int finish = sqlite3_backup_finish(b);
  if (step != SQLITE_DONE) {
    return sqlite::sql_error(dest.db, step, "backup of " + src.path, k_prefix);
  }
  if (finish != SQLITE_OK) {
    return sqlite::sql_error(dest.db, finish, "backup of " + src.path, k_prefix);
  }
  // The copied header says WAL; a backup is one file, readable by any sqlite3 without its
  // -wal: the gateway switches it back to WAL when it opens the restored store.
  auto mode = sqlite::scalar_text(dest.db, "PRAGMA journal_mode = DELETE");
  if (!mode) {
    return mode.err();
  }
  auto check = sqlite::scalar_text(dest.db, "PRAGMA quick_check");
  if (!check) {
    return check.err();
  }
  if (*check != "ok") {
    return {errc::internal, "the copy of " + src.path + " fails its check: " + *check};
  }
  return {};
}

/// Each tenant's head and the newest audit id of the event log's snapshot.
status read_store_summary(sqlite3* db, manifest& m) {
  stmt s;
  if (auto st =
          sqlite::prepare(db, "SELECT tenant, seq FROM tenant_heads ORDER BY tenant", s, k_prefix);
      !st) {
    return st;
  }
  query q(s);
  int rc = 0;
  while ((rc = q.step()) == SQLITE_ROW) {
    m.heads.emplace_back(q.col_text(0), q.col_uint64(1));
  }
  if (rc != SQLITE_DONE) {
    return sqlite::sql_error(db, rc, "read the tenants' heads", k_prefix);
  }
  auto last = sqlite::scalar_text(db, "SELECT COALESCE(MAX(id), 0) FROM audit");
  if (!last) {
    return last.err();
  }
  m.audit_last_id = std::strtoull(last->c_str(), nullptr, 10);
  return {};
}

status check_store_key(sqlite3* db, const std::string& path, const std::string& master_key) {
  derived_keys keys;  // only `wrap` is used: the key check is sealed under the master key's
  if (auto st = keys.derive(master_key, master_key); !st) {
    return st;
  }
  auto st = sqlite::verify_key_check(
      db, keys.wrap, k_store_key_check_text, k_store_key_check_aad,
      path + ": the key check is missing (not a Switchboard store?)",
      path + ": storage.master_key does not match the key this store was created with", "key check",
      k_prefix);
  if (!st && st.err().code == errc::internal && st.err().message.find(path) == 0) {
    return {errc::bad_request, st.err().message};
  }
  return st;
}

status check_outbox_key(sqlite3* db, const std::string& path, const std::string& root_key) {
  auto meta = has_table(db, "meta");
  if (!meta) {
    return meta.err();
  }
  if (!*meta) {
    return {};  // an outbox older than its key check (schema < 3): migrated at the next open
  }
  outbox_codec::keys keys;
  if (auto st = keys.derive(root_key); !st) {
    return st;
  }
  auto st = sqlite::verify_key_check(db, keys.sealing_key(), outbox_codec::k_key_check_text,
                                     outbox_codec::k_key_check_aad, path + " has no key check",
                                     path + ": " + std::string(outbox_codec::k_key_mismatch),
                                     "key check", k_prefix);
  if (!st && st.err().message.find(path) == 0) {
    return {errc::bad_request, st.err().message};
  }
  return st;
}

/// The file's size and digest into `e`.
status describe_file(const std::string& path, file_entry& e) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) {
    return {errc::internal, "cannot read the size of " + path + ": " + ec.message()};
  }
  e.bytes = size;
  auto digest = file_sha256(path);
  if (!digest) {
    return digest.err();
  }
  e.sha256 = std::move(*digest);
  return {};
}

/// One value of a JSON document, read with SQLite's JSON functions (the store already links
/// SQLite; no other parser in this layer).
class json_reader {
 public:
  status open(std::string_view text) {
    if (auto st = sqlite::open_connection(":memory:", SQLITE_OPEN_READWRITE, conn_, 0, k_prefix);
        !st) {
      return st;
    }
    text_ = text;
    auto valid = text_value("SELECT json_valid(?1)", "");
    if (!valid) {
      return valid.err();
    }
    if (*valid != "1") {
      return {errc::bad_request, "the manifest is not JSON"};
    }
    return {};
  }

  /// The value at `path` as text ("" for null or absent); `type` its JSON type ("" when absent).
  status get(const std::string& path, std::string& value, std::string& type) {
    stmt s;
    if (auto st = sqlite::prepare(conn_.db, "SELECT json_extract(?1, ?2), json_type(?1, ?2)", s,
                                  k_prefix);
        !st) {
      return st;
    }
    query q(s);
    q.text(1, text_).text(2, path);
    const int rc = q.step();
    if (rc != SQLITE_ROW) {
      return sqlite::sql_error(conn_.db, rc, "read the manifest", k_prefix);
    }
    value = q.col_text(0);
    type = q.col_text(1);
    return {};
  }

  result<std::string> text_value(const char* sql, const std::string& path) {
    stmt s;
    if (auto st = sqlite::prepare(conn_.db, sql, s, k_prefix); !st) {
      return st.err();
    }
    query q(s);
    q.text(1, text_);
    if (!path.empty()) {
      q.text(2, path);
    }
    const int rc = q.step();
    if (rc != SQLITE_ROW) {
      return sqlite::sql_error(conn_.db, rc, "read the manifest", k_prefix);
    }
    return q.col_text(0);
  }

 private:
  connection conn_;
  std::string text_;
};

/// Reads a required field of type `want` ("text", "integer", "object", "array").
status field(json_reader& r, const std::string& path, const char* want, std::string& out) {
  std::string type;
  if (auto st = r.get(path, out, type); !st) {
    return st;
  }
  if (type.empty()) {
    return {errc::bad_request, "the manifest has no " + path.substr(2)};
  }
  if (type != want) {
    return {errc::bad_request,
            "the manifest's " + path.substr(2) + " is " + type + ", not " + std::string(want)};
  }
  return {};
}

status int_field(json_reader& r, const std::string& path, std::int64_t& out) {
  std::string v;
  if (auto st = field(r, path, "integer", v); !st) {
    return st;
  }
  out = std::strtoll(v.c_str(), nullptr, 10);
  return {};
}

std::string time_tag(std::int64_t ms) {
  // "2026-12-04T17:30:05Z" -> "20261204T173005Z": a directory name without ':'.
  std::string t = to_rfc3339(timestamp{ms, false});
  std::string out;
  for (char c : t) {
    if (c != '-' && c != ':') {
      out.push_back(c);
    }
  }
  return out;
}

/// The erasures `path` recorded at or after `since_ms`, oldest first.
result<std::vector<erasure_entry>> erasures_since(const std::string& path, std::int64_t since_ms) {
  connection c;
  if (auto st =
          sqlite::open_connection(path, SQLITE_OPEN_READWRITE, c, k_busy_timeout_ms, k_prefix);
      !st) {
    return st.err();
  }
  auto audit = has_table(c.db, "audit");
  if (!audit) {
    return audit.err();
  }
  std::vector<erasure_entry> out;
  if (!*audit) {
    return out;
  }
  const std::string sql = std::string(
                              "SELECT id, tenant, at_ms, actor, action, subject, detail FROM audit "
                              "WHERE at_ms >= ?1 AND outcome = 'ok' AND action IN (") +
                          k_erasure_actions + ") ORDER BY id";
  stmt s;
  if (auto st = sqlite::prepare(c.db, sql.c_str(), s, k_prefix); !st) {
    return st.err();
  }
  query q(s);
  q.int64(1, since_ms);
  int rc = 0;
  while ((rc = q.step()) == SQLITE_ROW) {
    out.push_back({q.col_uint64(0), q.col_text(1), q.col_int64(2), q.col_text(3), q.col_text(4),
                   q.col_text(5), q.col_text(6)});
  }
  if (rc != SQLITE_DONE) {
    return sqlite::sql_error(c.db, rc, "read the audit log of " + path, k_prefix);
  }
  return out;
}

/// What an unfinished backup wrote, removed when it fails: a failed backup leaves the directory
/// as it found it (absent or empty), never a copy that looks like a backup.
struct partial_backup {
  std::string dir;
  bool created_dir = false;
  bool finished = false;
  std::vector<std::string> files;

  ~partial_backup() {
    if (finished) {
      return;
    }
    std::error_code ignored;
    for (const auto& f : files) {
      for (const auto& suffix : {"", "-journal", "-wal", "-shm"}) {
        fs::remove(f + suffix, ignored);
      }
    }
    if (created_dir) {
      fs::remove(dir, ignored);  // only when empty
    }
  }
};

/// The files of one database (the database, its WAL and shared memory).
std::vector<std::string> database_files(const std::string& dir, std::string_view name) {
  const std::string base = dir + "/" + std::string(name);
  return {base, base + "-wal", base + "-shm", base + "-journal"};
}

}  // namespace

std::string key_fingerprint(std::string_view master_key) {
  const auto mac = crypto::hmac_sha256(master_key, k_fingerprint_label);
  return crypto::to_hex(mac.data(), 16);
}

result<std::string> file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return io_error("cannot open " + path);
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return error{errc::internal, "sha256: cannot initialize"};
  }
  std::vector<char> buf(std::size_t{1} << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    if (n > 0 && EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n)) != 1) {
      return error{errc::internal, "sha256: cannot update"};
    }
  }
  if (in.bad()) {
    return io_error("cannot read " + path);
  }
  crypto::digest d{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), d.data(), &len) != 1 || len != d.size()) {
    return error{errc::internal, "sha256: cannot finish"};
  }
  return crypto::to_hex(d);
}

std::string to_json(const manifest& m) {
  std::string out;
  json::writer w(out);
  w.begin_object();
  w.key("format").value("switchboard-backup");
  w.key("version").value(m.version);
  w.key("created_at").value(m.created_at);
  w.key("created_at_ms").value(m.created_at_ms);
  w.key("backend").value("sqlite");
  w.key("source").value(m.source);
  w.key("master_key_fingerprint").value(m.key_fingerprint);
  w.key("files").begin_array();
  for (const auto& f : m.files) {
    w.begin_object();
    w.key("name").value(f.name);
    w.key("bytes").value(f.bytes);
    w.key("sha256").value(f.sha256);
    w.key("schema_version").value(f.schema_version);
    w.end_object();
  }
  w.end_array();
  w.key("heads").begin_object();
  for (const auto& [tenant, seq] : m.heads) {
    w.key(tenant).value(seq);
  }
  w.end_object();
  w.key("audit_last_id").value(m.audit_last_id);
  w.end_object();
  out.push_back('\n');
  return out;
}

result<manifest> parse_manifest(std::string_view text) {
  json_reader r;
  if (auto st = r.open(text); !st) {
    return st.err();
  }
  manifest m;
  std::string v;
  if (auto st = field(r, "$.format", "text", v); !st) {
    return st.err();
  }
  if (v != "switchboard-backup") {
    return error{errc::bad_request, "the manifest's format is '" + v + "', not switchboard-backup"};
  }
  std::int64_t version = 0;
  if (auto st = int_field(r, "$.version", version); !st) {
    return st.err();
  }
  if (version != k_manifest_version) {
    return error{errc::bad_request, "the manifest's version is " + std::to_string(version) +
                                        "; this build reads version " +
                                        std::to_string(k_manifest_version)};
  }
  m.version = static_cast<int>(version);
  if (auto st = field(r, "$.backend", "text", v); !st) {
    return st.err();
  }
  if (v != "sqlite") {
    return error{errc::bad_request, "the manifest's backend is '" + v + "', not sqlite"};
  }
  if (auto st = field(r, "$.created_at", "text", m.created_at); !st) {
    return st.err();
  }
  if (auto st = int_field(r, "$.created_at_ms", m.created_at_ms); !st) {
    return st.err();
  }
  if (auto st = field(r, "$.source", "text", m.source); !st) {
    return st.err();
  }
  if (auto st = field(r, "$.master_key_fingerprint", "text", m.key_fingerprint); !st) {
    return st.err();
  }
  std::int64_t n = 0;
  if (auto st = field(r, "$.files", "array", v); !st) {
    return st.err();
  }
  auto count = r.text_value("SELECT json_array_length(?1, '$.files')", "");
  if (!count) {
    return count.err();
  }
  n = std::strtoll(count->c_str(), nullptr, 10);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::string at = "$.files[" + std::to_string(i) + "]";
    file_entry f;
    std::int64_t bytes = 0;
    if (auto st = field(r, at + ".name", "text", f.name); !st) {
      return st.err();
    }
    if (f.name != k_store_file && f.name != k_outbox_file) {
      return error{errc::bad_request, "the manifest names the file '" + f.name +
                                          "': a backup holds switchboard.db and outbox.db only"};
    }
    for (const auto& other : m.files) {
      if (other.name == f.name) {
        return error{errc::bad_request, "the manifest names " + f.name + " twice"};
      }
    }
    if (auto st = int_field(r, at + ".bytes", bytes); !st) {
      return st.err();
    }
    if (bytes < 0) {
      return error{errc::bad_request, "the manifest's " + at.substr(2) + ".bytes is negative"};
    }
    f.bytes = static_cast<std::uint64_t>(bytes);
    if (auto st = field(r, at + ".sha256", "text", f.sha256); !st) {
      return st.err();
    }
    if (f.sha256.size() != 64 || !crypto::from_hex(f.sha256)) {
      return error{errc::bad_request,
                   "the manifest's " + at.substr(2) + ".sha256 is not 64 hex characters"};
    }
    if (auto st = int_field(r, at + ".schema_version", f.schema_version); !st) {
      return st.err();
    }
    m.files.push_back(std::move(f));
  }
  bool has_store = false;
  for (const auto& f : m.files) {
    has_store = has_store || f.name == k_store_file;
  }
  if (!has_store) {
    return error{errc::bad_request, "the manifest lists no switchboard.db"};
  }
  if (auto st = field(r, "$.heads", "object", v); !st) {
    return st.err();
  }
  {
    json_reader heads;
    if (auto st = heads.open(v); !st) {
      return st.err();
    }
    // json_each over the object: key and value, in document order.
    auto all = heads.text_value(
        "SELECT COALESCE(group_concat(key || char(31) || value, char(30)), '') FROM "
        "json_each(?1)",
        "");
    if (!all) {
      return all.err();
    }
    std::string_view rest = *all;
    while (!rest.empty()) {
      const auto end = rest.find('\x1e');
      const std::string_view item = rest.substr(0, end);
      const auto sep = item.find('\x1f');
      if (sep == std::string_view::npos) {
        return error{errc::bad_request, "the manifest's heads are malformed"};
      }
      m.heads.emplace_back(std::string(item.substr(0, sep)),
                           std::strtoull(std::string(item.substr(sep + 1)).c_str(), nullptr, 10));
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
  }
  std::int64_t audit_last = 0;
  if (auto st = int_field(r, "$.audit_last_id", audit_last); !st) {
    return st.err();
  }
  m.audit_last_id = static_cast<std::uint64_t>(audit_last);
  return m;
}

result<manifest> take_backup(const std::string& store_dir, const std::string& out_dir,
                             const std::string& master_key) {
  const std::string store_path = store_dir + "/" + std::string(k_store_file);
  const std::string outbox_path = store_dir + "/" + std::string(k_outbox_file);
  std::error_code ec;
  if (!fs::is_regular_file(store_path, ec)) {
    return error{errc::not_found,
                 "no SQLite store in " + store_dir + " (" + store_path + " does not exist)"};
  }
  const bool with_outbox = fs::is_regular_file(outbox_path, ec);
  partial_backup partial;
  partial.dir = out_dir;
  partial.created_dir = !fs::exists(out_dir, ec);
  fs::create_directories(out_dir, ec);
  if (ec) {
    return error{errc::internal, "cannot create " + out_dir + ": " + ec.message()};
  }
  if (!fs::is_empty(out_dir, ec) || ec) {
    return error{errc::bad_request,
                 out_dir + " is not empty: a backup goes into a new or empty directory"};
  }
  const std::string out_abs = fs::weakly_canonical(out_dir, ec).string();
  const std::string store_abs = fs::weakly_canonical(store_dir, ec).string();
  if (out_abs == store_abs) {
    return error{errc::bad_request, "the backup directory is the store's own directory"};
  }

  manifest m;
  m.created_at_ms = now().unix_ms;
  m.created_at = to_rfc3339(timestamp{m.created_at_ms, true});
  m.source = store_abs;
  m.key_fingerprint = key_fingerprint(master_key);

  // Both snapshots first, the event log's before the outbox's (see the header), then the copies.
  snapshot log;
  if (auto st = log.begin(store_path); !st) {
    return st.err();
  }
  snapshot box;
  if (with_outbox) {
    if (auto st = box.begin(outbox_path); !st) {
      return st.err();
    }
  }
  // A rotated store's root key is wrapped under its master key (store/root_key.hpp); the
  // outbox's keys come from the root key.
  auto record = sqlite::read_root_record(log.conn.db);
  if (!record) {
    return record.err();
  }
  auto root = root_key_of(master_key, *record);
  if (!root) {
    return error{errc::bad_request, store_path + ": " + root.err().message};
  }
  if (auto st = check_store_key(log.conn.db, store_path, master_key); !st) {
    return st.err();
  }
  if (with_outbox) {
    if (auto st = check_outbox_key(box.conn.db, outbox_path, *root); !st) {
      return st.err();
    }
  }
  if (auto st = read_store_summary(log.conn.db, m); !st) {
    return st.err();
  }
  std::vector<std::pair<snapshot*, std::string_view>> sources{{&log, k_store_file}};
  if (with_outbox) {
    sources.emplace_back(&box, k_outbox_file);
  }
  for (auto& [src, name] : sources) {
    file_entry f;
    f.name = std::string(name);
    auto version = user_version(src->conn.db);
    if (!version) {
      return version.err();
    }
    f.schema_version = *version;
    const std::string dest = out_dir + "/" + f.name;
    partial.files.push_back(dest);
    if (auto st = copy_database(*src, dest); !st) {
      return st.err();
    }
    if (auto st = sync_path(dest); !st) {
      return st.err();
    }
    if (auto st = describe_file(dest, f); !st) {
      return st.err();
    }
    m.files.push_back(std::move(f));
  }
  // The manifest last, by rename: a directory with a manifest holds a whole backup.
  const std::string tmp = out_dir + "/" + std::string(k_manifest_name) + ".tmp";
  partial.files.push_back(tmp);
  if (auto st = write_file(tmp, to_json(m)); !st) {
    return st.err();
  }
  fs::rename(tmp, out_dir + "/" + std::string(k_manifest_name), ec);
  if (ec) {
    return error{errc::internal, "cannot write the manifest in " + out_dir + ": " + ec.message()};
  }
  partial.finished = true;
  if (auto st = sync_path(out_dir); !st) {
    return st.err();
  }
  return m;
}

result<restore_report> restore_backup(const std::string& backup_dir, const std::string& store_dir,
                                      const std::string& master_key, bool force) {
  std::error_code ec;
  const std::string manifest_path = backup_dir + "/" + std::string(k_manifest_name);
  if (!fs::is_regular_file(manifest_path, ec)) {
    return error{errc::not_found, "no backup in " + backup_dir + " (" + manifest_path +
                                      " does not exist; an unfinished backup has none)"};
  }
  std::string text;
  {
    std::ifstream in(manifest_path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!in) {
      return io_error("cannot read " + manifest_path);
    }
    text = ss.str();
  }
  auto parsed = parse_manifest(text);
  if (!parsed) {
    return error{parsed.err().code, manifest_path + ": " + parsed.err().message};
  }
  restore_report report;
  report.restored = std::move(*parsed);
  const manifest& m = report.restored;

  const std::string fingerprint = key_fingerprint(master_key);
  if (!crypto::constant_time_equal(fingerprint, m.key_fingerprint)) {
    return error{errc::bad_request,
                 "the backup was taken under another storage.master_key (its fingerprint is " +
                     m.key_fingerprint + ", this config's key has " + fingerprint +
                     "): restore it with the key it was taken with"};
  }
  for (const auto& f : m.files) {
    const std::string path = backup_dir + "/" + f.name;
    file_entry found;
    if (auto st = describe_file(path, found); !st) {
      return error{errc::bad_request, "the backup is incomplete: " + st.err().message};
    }
    if (found.bytes != f.bytes || found.sha256 != f.sha256) {
      return error{errc::bad_request, path + " does not match the manifest (" +
                                          std::to_string(found.bytes) + " bytes, sha256 " +
                                          found.sha256 + "; the manifest says " +
                                          std::to_string(f.bytes) + " bytes, sha256 " + f.sha256 +
                                          "): the backup is damaged"};
    }
  }

  fs::create_directories(store_dir, ec);
  if (ec) {
    return error{errc::internal, "cannot create " + store_dir + ": " + ec.message()};
  }
  // The stores' own locks, held until the restore is done: no gateway can start on it meanwhile.
  sqlite::file_lock store_lock;
  sqlite::file_lock outbox_lock;
  for (auto [lock, name] :
       {std::pair{&store_lock, "switchboard.lock"}, std::pair{&outbox_lock, "outbox.lock"}}) {
    const std::string path = store_dir + "/" + name;
    if (auto st = sqlite::lock_file(path, *lock, path + " is locked"); !st) {
      return error{errc::unavailable, "the store in " + store_dir +
                                          " is in use: stop the gateway running on it first (" +
                                          st.err().message + ")"};
    }
  }
  std::vector<std::string> present;
  for (auto name : {k_store_file, k_outbox_file}) {
    for (const auto& p : database_files(store_dir, name)) {
      if (fs::exists(p, ec)) {
        present.push_back(p);
      }
    }
  }
  if (!present.empty()) {
    if (!force) {
      return error{errc::bad_request,
                   store_dir + " already holds a store (" + present.front() +
                       "): restore into an empty storage.path, or pass --force to move the "
                       "present store aside (into " +
                       store_dir + "/pre-restore-<time>/) and replace it"};
    }
    const std::string store_path = store_dir + "/" + std::string(k_store_file);
    if (fs::exists(store_path, ec)) {
      auto erasures = erasures_since(store_path, m.created_at_ms);
      if (!erasures) {
        return error{erasures.err().code,
                     "cannot read the erasures of the present store (nothing was changed): " +
                         erasures.err().message};
      }
      report.erasures_after_backup = std::move(*erasures);
    }
    report.moved_aside = store_dir + "/pre-restore-" + time_tag(now().unix_ms);
    fs::create_directories(report.moved_aside, ec);
    if (ec) {
      return error{errc::internal, "cannot create " + report.moved_aside + ": " + ec.message()};
    }
    for (const auto& p : present) {
      fs::rename(p, report.moved_aside + "/" + fs::path(p).filename().string(), ec);
      if (ec) {
        return error{errc::internal, "cannot move " + p + " into " + report.moved_aside + ": " +
                                         ec.message() + " (move the rest by hand and retry)"};
      }
    }
  }
  for (const auto& f : m.files) {
    const std::string target = store_dir + "/" + f.name;
    const std::string tmp = target + ".restoring";
    fs::copy_file(backup_dir + "/" + f.name, tmp, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      return error{errc::internal,
                   "cannot copy " + f.name + " into " + store_dir + ": " + ec.message()};
    }
    if (auto st = sync_path(tmp); !st) {
      return st.err();
    }
    fs::rename(tmp, target, ec);
    if (ec) {
      return error{errc::internal, "cannot rename " + tmp + ": " + ec.message()};
    }
  }
  if (auto st = sync_path(store_dir); !st) {
    return st.err();
  }
  {
    connection c;
    const std::string store_path = store_dir + "/" + std::string(k_store_file);
    if (auto st = sqlite::open_connection(store_path, SQLITE_OPEN_READONLY, c, k_busy_timeout_ms,
                                          k_prefix);
        !st) {
      return st.err();
    }
    if (auto st = check_store_key(c.db, store_path, master_key); !st) {
      return st.err();
    }
  }
  return report;
}

}  // namespace sb::store::backup
