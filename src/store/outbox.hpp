#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "core/time.hpp"

/// The outbox: every outbound message (POST /v1/messages, docs/outbound.md) from the moment it is
/// accepted until the platform has it (and later its delivery receipts), durable before the API
/// answers 202, so a restart resumes what was not sent. Also the 24-hour window table: when each
/// conversation's person last wrote (docs/DESIGN.md §7), and for a pseudonymizing tenant who the
/// person of a pseudonymous conversation ("<channel>:anon_…") really is, so that a backend can
/// reply by conversation without ever knowing the phone number.
///
/// Three implementations: `make_sqlite_outbox` (its own database file, `<storage.path>/outbox.db`,
/// WAL, the storage's durability; every identifier and the message sealed with AES-256-GCM, the
/// lookups by keyed digests, nothing that names a person in clear in its files),
/// `pg::make_outbox` (store/pg/outbox.hpp: the same sealed rows on PostgreSQL, shared by several
/// replicas) and `make_memory_outbox` (lost on restart; tests and the memory backend).
///
/// Threading: every member may be called from any thread, concurrently. Writes are serialized
/// inside and durable (as configured) when they return ok; they block on the disk, so actors call
/// them from the outbox writer (a detached actor, actors/actors.hpp), never from a scheduler
/// thread. Reads see committed data only.
///
/// Errors are values: `errc::not_found` for an unknown id, `errc::internal` for I/O, SQL or
/// decryption failures, `errc::unavailable` when the database is busy (SQLite) or cannot be
/// reached (PostgreSQL).
namespace sb::store {

/// Where an outbound message is. Forward order: queued < sending < sent < delivered < read;
/// `failed` is final for the engine (a platform may still report it after `sent`).
enum class outbound_state { queued, sending, sent, delivered, read, failed };

/// "queued", "sending", "sent", "delivered", "read", "failed".
const char* to_string(outbound_state s) noexcept;

/// The state named `s`, or nullopt.
std::optional<outbound_state> parse_outbound_state(std::string_view s) noexcept;

/// Whether the engine still has work for a message in this state (queued or sending).
inline bool unfinished(outbound_state s) noexcept {
  return s == outbound_state::queued || s == outbound_state::sending;
}

/// One outbound message as the outbox keeps it.
struct outbound_record {
  std::string id;  ///< "out_" + ULID; unique across tenants
  std::string tenant;
  std::string channel;  ///< the channel's configured name
  /// "<channel>:<recipient>"; for a pseudonymizing tenant "<channel>:anon_…", as its events
  /// name the conversation
  std::string conversation;
  /// The platform's recipient id (wa_id, chat id, PSID, IGSID); for a pseudonymizing tenant the
  /// pseudonym ("anon_…"): the real one is in `message` (its `to`), which is what the sender sends
  /// to, so that the engine's own records never show it.
  std::string recipient;
  std::string subject;  ///< the recipient's subject; "" when not known
  std::string purpose;  ///< "support", "marketing", ...
  /// The message as `adapters::to_json(outbound_message)` rendered it. Personal data: sealed at
  /// rest by the SQLite outbox, never logged.
  std::string message;
  outbound_state state = outbound_state::queued;
  std::uint32_t attempts = 0;       ///< send attempts started so far
  std::string platform_message_id;  ///< the platform's id once sent ("" before)
  std::string error_code;   ///< the platform's code of the last failure ("429", "131047"); ""
  std::string error_title;  ///< the platform's explanation of the last failure; ""
  timestamp created_at;
  timestamp updated_at;
  std::string caller;           ///< the subscriber whose token sent it ("" when unknown)
  std::string idempotency_key;  ///< the Idempotency-Key header; "" = none
};

/// A change of an existing record (by tenant and id). Fields in `optional`s are set only when
/// given; `updated_at` always.
struct outbound_update {
  std::string tenant;
  std::string id;
  outbound_state state = outbound_state::queued;
  /// Change the state only if `state` is after the stored one in the forward order (delivery
  /// receipts arriving out of order never move a message back: "delivered" after "read" is
  /// ignored). A refused move still applies nothing else. `failed` counts as after every state
  /// but `failed`.
  bool forward_only = false;
  std::optional<std::uint32_t> attempts;
  std::optional<std::string> platform_message_id;
  std::optional<std::string> error_code;
  std::optional<std::string> error_title;
  timestamp updated_at;
  /// Written by the channel's sender (the outcome of its own attempt). With several replicas the
  /// PostgreSQL outbox applies it only while this replica holds the channel's sender lease in the
  /// generation it holds it (`pg::fences`); otherwise nothing is written and `applied` is false.
  /// Receipts, which any replica's webhooks bring, leave it false.
  bool by_sender = false;
};

/// One write of a batch (`outbox::apply`), with its result filled in by `apply`.
struct outbox_write {
  enum class kind {
    put,           ///< store `record` (a new message)
    update,        ///< apply `update`
    last_inbound,  ///< raise the conversation's last inbound time to `at_ms` (never lowers it)
    /// raise the tenant's window head to `seq` (never lowers it): the window rows of every
    /// event of the tenant's log up to `seq` are written (`window_head`)
    window_head,
  };
  kind what = kind::put;
  outbound_record record;    ///< put: in; out: the stored record (the earlier one on a replay)
  outbound_update update;    ///< update
  std::string tenant;        ///< last_inbound, window_head
  std::uint64_t seq = 0;     ///< window_head: the event seq the window rows are written up to
  /// window_head: sync the batch as `durability` says although it holds window writes only (a
  /// tenant's first head: a power cut must not leave the repair without a place to start).
  bool synced = false;
  std::string conversation;  ///< last_inbound
  std::int64_t at_ms = 0;    ///< last_inbound: Unix ms of the person's message
  std::string subject;       ///< last_inbound: the person's subject ("" = none), for erasure
  /// last_inbound: the platform's id of the person of a pseudonymous conversation (what
  /// `peer_of` answers); "" = none (keeps what is stored). Personal data: sealed at rest.
  std::string peer;

  /// put: false when the tenant already had a message with the same (caller, idempotency_key);
  /// nothing was stored and `record` now holds that earlier message (answer the replay with it).
  bool created = true;
  /// update: the record exists and the change was applied (false: unknown id, or a
  /// `forward_only` move backwards).
  bool applied = false;
};

/// Whether `batch` holds window writes only (`last_inbound` without a `peer`, `window_head` not
/// `synced`): rows derived from the event log, which `outbound::repair_windows` writes again
/// from it at start. Such a batch may commit without a disk sync (`outbox::apply`), and its
/// writer may hold it back a moment to commit it with the next ones (actors/outbox_writer.hpp).
inline bool window_only(const std::vector<outbox_write>& batch) {
  for (const auto& w : batch) {
    const bool derived = (w.what == outbox_write::kind::window_head && !w.synced) ||
                         (w.what == outbox_write::kind::last_inbound && w.peer.empty());
    if (!derived) {
      return false;
    }
  }
  return true;
}

class outbox {
 public:
  virtual ~outbox() = default;

  /// Applies every write of `batch` in order, in one transaction (group commit: one disk sync
  /// for the batch), and fills in their results. All or nothing: on error nothing of the batch is
  /// stored and the results are unspecified. A put of an id that exists is an error
  /// (`errc::internal`); ids are ULIDs, so it means a bug.
  ///
  /// A `window_only` batch may commit without a disk sync even under `durability: fsync`: its
  /// rows are derived from the event log, which `outbound::repair_windows` reads again from the
  /// window head at start, so a power cut loses none for good. A `peer` is not in the event log:
  /// a batch with one is synced as `durability` says.
  [[nodiscard]] virtual status apply(std::vector<outbox_write>& batch) = 0;

  /// The message `id` of `tenant` (another tenant's id is `errc::not_found` too).
  [[nodiscard]] virtual result<outbound_record> get(const std::string& tenant,
                                                    const std::string& id) = 0;

  /// The channel's messages still queued or sending, oldest first (the order they were put in),
  /// at most `limit` (restart resume; `after_id` "" = from the start, else after that record).
  [[nodiscard]] virtual result<std::vector<outbound_record>> unfinished(
      const std::string& tenant, const std::string& channel, std::size_t limit,
      const std::string& after_id = {}) = 0;

  /// The message the platform knows as `platform_message_id` on that channel (status receipts:
  /// WhatsApp statuses[].id, Messenger delivery/read watermarks name mids), or `errc::not_found`.
  [[nodiscard]] virtual result<outbound_record> find_by_platform_id(
      const std::string& tenant, const std::string& channel,
      const std::string& platform_message_id) = 0;

  /// Erasure: deletes every message of `subject` (any state) and its conversations' last inbound
  /// times (those written with that subject); returns how many messages. Tell the channel's
  /// sender too (`forget_atom`), so it drops what it still holds in memory.
  [[nodiscard]] virtual result<std::uint64_t> erase_subject(const std::string& tenant,
                                                            const std::string& subject) = 0;

  /// Retention: deletes the tenant's finished messages (sent, delivered, read, failed) last
  /// updated before `cutoff`, and the window rows (last inbound time, peer) whose person last
  /// wrote before it. Returns how many messages.
  [[nodiscard]] virtual result<std::uint64_t> expire(const std::string& tenant,
                                                     timestamp cutoff) = 0;

  /// The message `caller` of `tenant` created with Idempotency-Key `key` (kept as long as the
  /// message is), or `errc::not_found` (also for an empty key).
  [[nodiscard]] virtual result<outbound_record> find_by_idempotency_key(const std::string& tenant,
                                                                        const std::string& caller,
                                                                        const std::string& key) = 0;

  /// The real peer of a pseudonymous `conversation` (written with its last inbound time), or
  /// `errc::not_found` when none is known (the person never wrote, was erased, or the row
  /// expired).
  [[nodiscard]] virtual result<std::string> peer_of(const std::string& tenant,
                                                    const std::string& conversation) = 0;

  /// The seq up to which the tenant's window rows are written (the highest `window_head` write),
  /// or none when no head was ever written for the tenant.
  [[nodiscard]] virtual result<std::optional<std::uint64_t>> window_head(
      const std::string& tenant) = 0;

  /// The person's last inbound message in `conversation` (Unix ms), or 0 when none is known.
  [[nodiscard]] virtual result<std::int64_t> last_inbound(const std::string& tenant,
                                                          const std::string& conversation) = 0;

  // -- conveniences: one write each (one disk sync each; prefer batches on hot paths) ---------

  /// Puts `r`: the stored record, or the earlier one with `created` false on an idempotent
  /// replay (same tenant, caller and non-empty idempotency key).
  struct put_outcome {
    outbound_record record;
    bool created = true;
  };
  [[nodiscard]] result<put_outcome> put(outbound_record r);

  /// Applies `u`; true when applied (see `outbox_write::applied`).
  [[nodiscard]] result<bool> update(outbound_update u);

  /// Raises the conversation's last inbound time to `at_ms` (never lowers it); a non-empty
  /// `peer` is recorded as the conversation's real peer.
  [[nodiscard]] status set_last_inbound(const std::string& tenant, const std::string& conversation,
                                        std::int64_t at_ms, const std::string& subject = {},
                                        const std::string& peer = {});
};

/// Opens (creates) `<dir>/outbox.db`: WAL mode, `synchronous` as `durability` (as the event
/// log: fsync = FULL, os = NORMAL, none = OFF), `secure_delete` on. `root_key` is the store's
/// 32-byte root key (`storage.root_key`, store/root_key.hpp: the master key the store was created
/// with, until its first rotation). Sealed with AES-256-GCM under `outbox_key(root_key)`, each
/// bound to its tenant and message id (a peer: tenant and conversation) and to what it is: the
/// message JSON with the conversation, recipient, subject and idempotency key; the platform message
/// id; the error title; a pseudonymous conversation's real peer. What lookups need (conversation,
/// subject, platform message id, idempotency key) is stored as HMAC-SHA256 digests under
/// HMAC-SHA256(root_key, "switchboard/store/outbox-lookup/v1") of the kind, tenant and value,
/// 16 bytes; a lookup compares the opened value too. After an erasure (and a retention delete that
/// deleted anything) the WAL is checkpointed and truncated, so no file keeps the deleted rows.
/// Schema v3; a v1 or v2 file (identifiers in clear) is migrated in place, in one transaction,
/// and its WAL truncated. `errc::bad_request` for a key that is not 32 bytes; `errc::internal`
/// when the file cannot be opened, is of a newer schema, was written with another master key
/// (checked at open: "storage.master_key does not match the key this outbox was created with";
/// an older file then fails its migration), or is used by another outbox (this or another process:
/// an exclusive lock on `<dir>/outbox.lock`).
[[nodiscard]] result<std::shared_ptr<outbox>> make_sqlite_outbox(const std::string& dir,
                                                                 config::durability durability,
                                                                 const std::string& root_key);

/// An in-memory outbox (nothing survives the process).
std::shared_ptr<outbox> make_memory_outbox();

/// The sealing key of the outbox: HMAC-SHA256(root_key, "outbox") (32 bytes).
std::string outbox_key(std::string_view root_key);

}  // namespace sb::store
