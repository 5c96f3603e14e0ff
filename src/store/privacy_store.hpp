#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/time.hpp"
#include "store/event_log.hpp"

/// What the gateway keeps to carry its data-protection duties (docs/DESIGN.md §7,
/// docs/privacy.md): each subject's consent and restriction, erasure and export of a subject,
/// retention, the audit log, platform deletion requests and the platforms' privacy requests
/// already carried out (so a replay is recognised). The in-memory and the SQLite stores both serve
/// one beside their `event_log` (store/stores.hpp).
///
/// Encryption at rest belongs to the SQLite log: each event payload (and quarantined body) is
/// sealed with AES-256-GCM under its subject's data key (events without a subject use the
/// tenant's own data key, subject ""); data keys are stored wrapped by `storage.master_key`.
/// Erasing a subject deletes its rows and destroys its key; the SQLite log zeroes deleted content
/// and truncates its WAL, so the store's files no longer hold either. A backup taken *before* the
/// erasure still holds the wrapped key next to the rows and decrypts with the master key: backups
/// are kept no longer than erasures may take to become effective, or erasures (listed in the
/// audit log) are applied again after a restore (docs/operations.md). The in-memory log encrypts
/// nothing (nothing of it is at rest) and otherwise behaves the same.
///
/// Receipts: the store decides by the `subject` column alone, never by type. Every event stored
/// with the subject (`stored_event::subject`), whatever its type (`consent.changed`,
/// `privacy.data_request`, ...), is erased with the subject: the store cannot tell a content-free
/// receipt from an event that carries the person's data (`privacy.data_request` carries the
/// export; Shopify's `customers/redact` names the customer), and an erased subject's export must
/// hold no personal data. A receipt meant to outlive the erasure (`privacy.erased`,
/// `privacy.redact`) is therefore stored *without* a top-level subject (it names the subject in its
/// own `privacy` block, docs/privacy.md): it is sealed under the tenant's key, which an erasure
/// never destroys. The audit log (no content) is kept too.
///
/// Receipts of earlier requests also outlive later ones: a channel erasure (Shopify `shop/redact`)
/// deletes the channel's events without a subject except `privacy.*` receipts.
///
/// An erased person stays erased: the erased events' dedupe keys are kept as tombstones, so a
/// platform's retry or a replay of a webhook that was erased is answered as a duplicate and not
/// stored again. A tombstone holds no content: the SQLite log keeps dedupe keys only as keyed
/// digests (HMAC-SHA256 under a key derived from `storage.master_key`, cut to 16 bytes; a
/// WhatsApp message id encodes the sender's phone number, so nothing reversible may stay), with
/// tenant, channel, the seq of the erased event and the time the key was first seen; the
/// in-memory log keeps the same digest under a key of its own, random per process. Retention
/// removes tombstones as it removes dedupe keys (`expire`, by the time the key was first seen):
/// an event received again after that is new. A *new* event of the subject (another message)
/// is stored as usual, under a new data key.
///
/// Threading: every member may be called from any thread, concurrently with each other and with
/// the `event_log` members of the same stores. Writes are serialized with `append` and are
/// durable, as configured, when they return ok.
namespace sb::store {

/// Purposes of DESIGN §7.
namespace purpose {
inline constexpr const char* support = "support";
inline constexpr const char* ai = "ai";
inline constexpr const char* analytics = "analytics";
inline constexpr const char* marketing = "marketing";
}  // namespace purpose

/// A subject's recorded choices. Purposes absent from `granted` take their default (support,
/// ai, analytics on; marketing off).
struct consent_record {
  std::string tenant;
  std::string subject;
  std::map<std::string, bool> granted;  ///< purpose -> explicit choice
  bool restricted = false;              ///< stored, forwarded to nobody
  timestamp updated_at;
};

/// What an erasure removed.
struct erase_outcome {
  std::uint64_t events = 0;  ///< event rows deleted
  /// Dedupe keys of the erased events, kept as content-free tombstones (see above) until
  /// retention removes them; none is deleted by an erasure.
  std::uint64_t dedupe_keys = 0;
  std::uint64_t dead_letters = 0;     ///< dead letters of those events deleted
  bool key_destroyed = false;         ///< a data key existed and is gone
  std::vector<std::string> subjects;  ///< the subjects erased (one, or a channel's)
};

/// What a retention sweep removed.
struct sweep_outcome {
  std::uint64_t events = 0;
  std::uint64_t dedupe_keys = 0;
  std::uint64_t dead_letters = 0;
  std::uint64_t quarantined = 0;
};

/// One privacy action. Never message content: who did what to which subject, and how it ended.
struct audit_entry {
  std::uint64_t id = 0;  ///< assigned by the store, increasing
  timestamp at;
  std::string tenant;
  std::string actor;    ///< "subscriber:<name>", "platform:<channel>", "system:retention"
  std::string action;   ///< export, erase, consent, restrict, deletion_callback, data_request,
                        ///< redact, shop_redact, opt_out, opt_in, retention,
                        ///< quarantine_download, quarantine_reingest, quarantine_purge
  std::string subject;  ///< "" when the action is not about one subject
  std::string outcome;  ///< "ok", "not_found", "refused", or a short error
  std::string detail;   ///< e.g. "purpose=marketing granted=false", "events=12"; no content
};

/// A platform's deletion request (Meta's data-deletion callback), looked up by its code.
struct deletion_request {
  std::string code;  ///< confirmation code given to the platform; unguessable
  std::string tenant;
  std::string channel;
  std::string subject;
  std::string state;  ///< "completed" or "failed"
  timestamp requested_at;
  timestamp completed_at;
};

/// A platform's privacy request that was carried out (Shopify's privacy webhooks, Meta's
/// data-deletion callback), remembered to recognise a replay of it. No content: the request
/// itself is kept only as a keyed digest.
struct privacy_request {
  std::string tenant;
  std::string channel;
  std::string kind;  ///< the Shopify topic, or "data_deletion"
  /// What the first answer named, for the answer to a replay: Meta's confirmation code, the
  /// erasure receipt's id ("era_…"), or "".
  std::string code;
  timestamp done_at;
};

/// What `privacy_store::claim_privacy_request` found.
struct privacy_request_claim {
  enum class state {
    claimed,      ///< new: carry it out, then finish (or abandon) the claim
    in_progress,  ///< being carried out by another caller right now
    done,         ///< carried out before: `done` says how
  };
  state st = state::claimed;
  std::string digest;    ///< the request's keyed digest: identifies the claim (opaque)
  privacy_request done;  ///< when `st == done`
};

class privacy_store {
 public:
  virtual ~privacy_store() = default;

  // -- consent --------------------------------------------------------------------------------

  /// Stores a subject's consent record (replaces the previous one). `bad_request` for an empty
  /// tenant or subject, or a purpose that is not an identifier (lower-case letters, digits, '_',
  /// '-'; at most 64 characters). Consent records are not encrypted (no content).
  [[nodiscard]] virtual status put_consent(const consent_record& r) = 0;

  /// Every consent record of the tenant (loaded once when the tenant starts). On a storage
  /// error it logs and answers what it has (possibly nothing).
  virtual std::vector<consent_record> consents(const std::string& tenant) = 0;

  // -- subjects -------------------------------------------------------------------------------

  /// The subject's stored events in seq order (decrypted), at most `limit`: the export. Empty for
  /// the subject "" and for an erased subject. An event that does not decrypt is an
  /// `errc::internal` error (never skipped silently).
  [[nodiscard]] virtual result<std::vector<stored_event>> subject_events(const std::string& tenant,
                                                                         const std::string& subject,
                                                                         std::size_t limit) = 0;

  /// The subject's stored events with seq > `after`, in seq order (decrypted), at most `limit`:
  /// a web chat visitor's stream reads its conversation through it, page by page, from the
  /// subject index (the conversation itself is sealed, not queryable). Same errors as
  /// `subject_events`. The default filters `subject_events` (test doubles); every store
  /// overrides it with an indexed read that starts at `after`.
  [[nodiscard]] virtual result<std::vector<stored_event>> subject_events_after(
      const std::string& tenant, const std::string& subject, std::uint64_t after,
      std::size_t limit) {
    auto all = subject_events(tenant, subject, static_cast<std::size_t>(-1) / 2);
    if (!all) {
      return all;
    }
    std::vector<stored_event> out;
    for (auto& e : all.value()) {
      if (out.size() >= limit) {
        break;
      }
      if (e.seq > after) {
        out.push_back(std::move(e));
      }
    }
    return out;
  }

  /// Every subject of the tenant that `erase_subject` or `erase_channel` erased, oldest first:
  /// an erasure revokes the web chat sessions of the subject (`consent_registry::revoked`), and
  /// this list makes the revocation outlive a restart (loaded with the consent records). Written
  /// in the erasure's own transaction; kept for good (one short row per erased subject: a
  /// subject id, no content), since a session token may live as long as its channel's
  /// `session_ttl_hours` and an erasure may come at any point of it. On a storage error it logs
  /// and answers what it has. The default (test doubles) keeps none.
  virtual std::vector<std::string> erased_subjects(const std::string& tenant) {
    (void)tenant;
    return {};
  }

  /// Erases a subject, in one transaction: destroys its data key, deletes its events (receipts
  /// stored with the subject included, see above), their dead letters and its consent record,
  /// and records the subject among `erased_subjects`;
  /// the events' dedupe keys stay as tombstones (see above). Audit entries, deletion requests and
  /// privacy requests naming the subject are kept (they hold no content and prove what was done).
  /// Idempotent (erasing twice finds nothing the second time). `bad_request` for an empty subject
  /// (the tenant's own key is never erased this way).
  [[nodiscard]] virtual result<erase_outcome> erase_subject(const std::string& tenant,
                                                            const std::string& subject) = 0;

  /// Erases, in one transaction, every subject seen on a channel (each as `erase_subject`, also
  /// its events on other channels, if any) and then everything else of the channel: its events
  /// without a subject except `privacy.*` receipts, their dead letters, its quarantined bodies
  /// (Shopify `shop/redact`). Every dedupe key of the channel stays as a tombstone. A subject is
  /// "seen on" the channel when it has events there or its data key was created there (so its
  /// consent record goes too after retention removed its events). `bad_request` for an empty
  /// channel name.
  [[nodiscard]] virtual result<erase_outcome> erase_channel(const std::string& tenant,
                                                            const std::string& channel) = 0;

  // -- retention ------------------------------------------------------------------------------

  /// Deletes the tenant's events received before `cutoff`, dedupe keys (and tombstones) created
  /// before it, dead letters failed before it and quarantined bodies received before it. The
  /// tenant's head is kept: a seq is never issued twice. Consent records, data keys, the audit
  /// log, deletion requests and privacy requests are not touched. The SQLite log deletes in batches
  /// of a few thousand rows, each its own transaction, so a sweep holds up appends for one batch at
  /// most; a failure part-way leaves the earlier batches deleted (running the sweep again finishes
  /// it).
  [[nodiscard]] virtual result<sweep_outcome> expire(const std::string& tenant,
                                                     timestamp cutoff) = 0;

  // -- audit ----------------------------------------------------------------------------------

  /// Appends an entry (its `id` is ignored); returns the assigned id.
  [[nodiscard]] virtual result<std::uint64_t> audit(audit_entry e) = 0;

  /// The tenant's entries with id > `after_id`, oldest first, at most `limit`. On a storage
  /// error it logs and answers what it has (possibly nothing).
  virtual std::vector<audit_entry> audit_log(const std::string& tenant, std::uint64_t after_id,
                                             std::size_t limit) = 0;

  // -- platform deletion requests -------------------------------------------------------------

  /// Stores a request (replaces the one with the same code). `bad_request` for an empty code.
  [[nodiscard]] virtual status put_deletion_request(const deletion_request& r) = 0;

  /// The request with this code (any tenant: the code is the capability), or
  /// `errc::not_found`.
  [[nodiscard]] virtual result<deletion_request> find_deletion_request(const std::string& code) = 0;

  // -- platform privacy requests carried out (replays) ---------------------------------------

  /// Claims the privacy request `request` (the signed bytes that make it: Shopify's body, Meta's
  /// `signed_request`; a caller may pass a hash of a large body) of `kind` ("customers/redact",
  /// "shop/redact", "customers/data_request", "data_deletion") for (tenant, channel):
  /// - `claimed`: never carried out; the caller carries it out, then `finish_privacy_request`
  ///   (or `abandon_privacy_request` when it fails, so that the platform's retry runs it).
  /// - `in_progress`: claimed by a caller of this object that has not finished it yet (answer
  ///   503: the platform retries).
  /// - `done`: carried out before; `done` holds what was recorded (answer as a duplicate, do
  ///   nothing again).
  /// The store keeps a keyed digest of (tenant, channel, kind, request), never the request;
  /// claims in progress are held in memory only, so a process that dies holding one leaves
  /// nothing behind. Records are kept for good (retention does not remove them): a captured
  /// request replayed at any later time is recognised. `bad_request` for an empty tenant,
  /// channel or kind.
  [[nodiscard]] virtual result<privacy_request_claim> claim_privacy_request(
      const std::string& tenant, const std::string& channel, const std::string& kind,
      std::string_view request) = 0;

  /// Records a claimed request as carried out (`r`'s tenant, channel and kind are the claim's;
  /// its `code` and `done_at` are stored) and ends the claim. Durable, as configured, when it
  /// returns ok; on an error the claim is still held (abandon it).
  [[nodiscard]] virtual status finish_privacy_request(const privacy_request_claim& claim,
                                                      const privacy_request& r) = 0;

  /// Ends a claim without recording anything: the request may be claimed again.
  virtual void abandon_privacy_request(const privacy_request_claim& claim) = 0;
};

}  // namespace sb::store
