#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/time.hpp"
#include "store/event_log.hpp"

/// What the gateway keeps to carry its data-protection duties (docs/DESIGN.md §7,
/// docs/privacy.md): each subject's consent and restriction, erasure and export of a subject,
/// retention, the audit log and the status of platform deletion requests. The in-memory and the
/// SQLite event logs both implement it on the same object as their `event_log`;
/// `privacy_store_of` gives access to it.
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
/// After an erasure the subject is a stranger: an event of it appended later (a new message, a
/// platform's retry of a webhook whose dedupe key was erased with it) is stored again as a new
/// copy under a new data key. That is right: the platform sent it again, and the erasure covered
/// what was held when it ran.
///
/// Threading: every member may be called from any thread, concurrently with each other and with
/// the `event_log` members of the same object. Writes are serialized with `append` and are
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
  std::uint64_t events = 0;           ///< event rows deleted
  std::uint64_t dedupe_keys = 0;      ///< dedupe entries deleted
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
                        ///< redact, shop_redact, opt_out, opt_in, retention
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

class privacy_store {
 public:
  virtual ~privacy_store() = default;

  // -- consent --------------------------------------------------------------------------------

  /// Stores a subject's consent record (replaces the previous one). `bad_request` for an empty
  /// tenant or subject, or a purpose that is not an identifier (lower-case letters, digits, '_',
  /// '-'; at most 64 characters). Consent records are not encrypted (no content).
  virtual status put_consent(const consent_record& r) = 0;

  /// Every consent record of the tenant (loaded once when the tenant starts). On a storage
  /// error it logs and answers what it has (possibly nothing).
  virtual std::vector<consent_record> consents(const std::string& tenant) = 0;

  // -- subjects -------------------------------------------------------------------------------

  /// The subject's stored events in seq order (decrypted), at most `limit`: the export. Empty for
  /// the subject "" and for an erased subject. An event that does not decrypt is an
  /// `errc::internal` error (never skipped silently).
  virtual result<std::vector<stored_event>> subject_events(const std::string& tenant,
                                                           const std::string& subject,
                                                           std::size_t limit) = 0;

  /// Erases a subject, in one transaction: destroys its data key, deletes its events (receipts
  /// included, see above), their dedupe keys and dead letters, and its consent record. Audit
  /// entries and deletion requests naming the subject are kept (they hold no content and prove
  /// what was done). Idempotent (erasing twice finds nothing the second time). `bad_request` for
  /// an empty subject (the tenant's own key is never erased this way).
  virtual result<erase_outcome> erase_subject(const std::string& tenant,
                                              const std::string& subject) = 0;

  /// Erases, in one transaction, every subject seen on a channel (each as `erase_subject`, also
  /// its events on other channels, if any) and then everything else of the channel: its events
  /// without a subject, their dedupe keys and dead letters, its quarantined bodies (Shopify
  /// `shop/redact`). A subject is "seen on" the channel when it has events there or its data
  /// key was created there (so its consent record goes too after retention removed its events).
  /// `bad_request` for an empty channel name.
  virtual result<erase_outcome> erase_channel(const std::string& tenant,
                                              const std::string& channel) = 0;

  // -- retention ------------------------------------------------------------------------------

  /// Deletes the tenant's events received before `cutoff`, dedupe keys created before it, dead
  /// letters failed before it and quarantined bodies received before it. The tenant's head is
  /// kept: a seq is never issued twice. Consent records, data keys, the audit log and deletion
  /// requests are not touched. The SQLite log deletes in batches of a few thousand rows, each its
  /// own transaction, so a sweep holds up appends for one batch at most; a failure part-way
  /// leaves the earlier batches deleted (running the sweep again finishes it).
  virtual result<sweep_outcome> expire(const std::string& tenant, timestamp cutoff) = 0;

  // -- audit ----------------------------------------------------------------------------------

  /// Appends an entry (its `id` is ignored); returns the assigned id.
  virtual result<std::uint64_t> audit(audit_entry e) = 0;

  /// The tenant's entries with id > `after_id`, oldest first, at most `limit`. On a storage
  /// error it logs and answers what it has (possibly nothing).
  virtual std::vector<audit_entry> audit_log(const std::string& tenant, std::uint64_t after_id,
                                             std::size_t limit) = 0;

  // -- platform deletion requests -------------------------------------------------------------

  /// Stores a request (replaces the one with the same code). `bad_request` for an empty code.
  virtual status put_deletion_request(const deletion_request& r) = 0;

  /// The request with this code (any tenant: the code is the capability), or
  /// `errc::not_found`.
  virtual result<deletion_request> find_deletion_request(const std::string& code) = 0;
};

/// The privacy store served by the same object as `log`, or null. Shares ownership with `log`.
inline std::shared_ptr<privacy_store> privacy_store_of(const std::shared_ptr<event_log>& log) {
  return std::dynamic_pointer_cast<privacy_store>(log);
}

}  // namespace sb::store
