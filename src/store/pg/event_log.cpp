#include "store/pg/event_log.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/aead.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "store/codec.hpp"
#include "store/pg/key_ring.hpp"

namespace sb::store::pg {

namespace {

// As the other logs: a read examines at most this many events per call.
constexpr std::size_t k_max_examined = 10000;

error no_quarantined(std::uint64_t id) {
  return {errc::not_found, "no quarantined body " + std::to_string(id)};
}

class pg_event_log final : public event_log {
 public:
  pg_event_log(std::shared_ptr<pool> p, key_ring keys) : pool_(std::move(p)), keys_(std::move(keys)) {}

  status append(std::vector<append_request>& requests,
                std::vector<std::vector<append_outcome>>& outcomes) override {
    outcomes.clear();
    outcomes.resize(requests.size());
    auto c = pool_->take();
    if (!c) {
      return c.err();
    }
    transaction tx(**c);
    auto st = tx.begin();
    if (st) {
      st = append_in(**c, requests, outcomes);
    }
    if (st) {
      st = tx.commit();
    }
    if (!st) {
      forget_failed_append(requests, outcomes);
    }
    return st;
  }

  result<read_result> read(const std::string& tenant, std::uint64_t after, std::size_t limit,
                           const std::vector<std::string>& types, std::uint64_t upto) override {
    read_result r;
    r.next = after;
    if (limit == 0 || after >= upto) {
      return r;
    }
    auto c = pool_->take();
    if (!c) {
      return c.err();
    }
    // Unfiltered, the page is all that is needed; filtered, up to the examination bound.
    const std::size_t rows = types.empty() ? std::min(limit, k_max_examined) : k_max_examined;
    auto q = (*c)->exec(
        "SELECT e.seq, e.type, e.subject, e.body, k.id, k.wrapped FROM events e "
        "JOIN subject_keys k ON k.id = e.subject_key "
        "WHERE e.tenant = $1 AND e.seq > $2 AND e.seq <= $3 ORDER BY e.seq LIMIT $4",
        {tenant, bigint(after), bigint(upto), bigint(static_cast<std::uint64_t>(rows))});
    if (!q) {
      return q.err();
    }
    key_ring::read_keys unwrapped;
    for (int i = 0; i < q->size() && r.events.size() < limit; ++i) {
      auto seq = q->int64(i, 0);
      if (!seq) {
        return seq.err();
      }
      std::string type(q->text(i, 1));
      r.next = static_cast<std::uint64_t>(*seq);
      if (!types.empty() && std::find(types.begin(), types.end(), type) == types.end()) {
        continue;
      }
      stored_event e;
      e.seq = static_cast<std::uint64_t>(*seq);
      e.type = std::move(type);
      e.subject = std::string(q->text(i, 2));
      auto body = q->bytes(i, 3);
      auto key_id = q->int64(i, 4);
      auto wrapped = q->bytes(i, 5);
      if (!body || !key_id || !wrapped) {
        return error{errc::internal, "an event row of tenant " + tenant + " is malformed"};
      }
      if (auto st = keys_.open_event(unwrapped, tenant, e, *key_id, *wrapped, *body); !st) {
        return st.err();
      }
      r.events.push_back(std::move(e));
    }
    return r;
  }

  std::uint64_t head(const std::string& tenant) override {
    auto c = pool_->take();
    if (!c) {
      log::error("store", "head of tenant ", tenant, ": ", c.err().message);
      return 0;
    }
    auto q = (*c)->exec("SELECT seq FROM tenant_heads WHERE tenant = $1", {tenant});
    if (!q || q->size() == 0) {
      if (!q) {
        log::error("store", "head of tenant ", tenant, ": ", q.err().message);
      }
      return 0;
    }
    auto seq = q->int64(0, 0);
    return seq ? static_cast<std::uint64_t>(*seq) : 0;
  }

  using event_log::quarantine;
  result<std::uint64_t> quarantine(quarantined_body body, std::uint64_t quota_bytes) override {
    const std::uint64_t charge = quarantine_charge(body);
    auto c = pool_->take();
    if (!c) {
      return c.err();
    }
    connection& conn = **c;
    transaction tx(conn);
    if (auto st = tx.begin(); !st) {
      return st.err();
    }
    // The channel's usage row, locked until COMMIT: quarantines of one channel on every replica
    // take their turn, so together they never pass the quota.
    auto used = conn.exec(
        "INSERT INTO quarantine_usage AS u (tenant, channel, bytes) VALUES ($1, $2, 0) "
        "ON CONFLICT (tenant, channel) DO UPDATE SET bytes = u.bytes RETURNING bytes",
        {body.tenant, body.channel});
    if (!used) {
      return used.err();
    }
    auto n = used->int64(0, 0);
    if (!n) {
      return n.err();
    }
    const auto held = static_cast<std::uint64_t>(*n);
    if (charge > quota_bytes || held > quota_bytes - charge) {
      return error{errc::quarantine_full, "the quarantine of channel " + body.channel + " holds " +
                                              std::to_string(held) + " of its " +
                                              std::to_string(quota_bytes) + " bytes"};
    }
    std::unordered_map<std::string, data_key> used_keys;
    auto key = keys_.writer_key(conn, used_keys, body.tenant, "", "", body.received_at.unix_ms);
    if (!key) {
      return key.err();
    }
    std::string sealed;
    std::string sealed_headers;
    if (auto s = seal_quarantined((*key)->key, body, sealed, sealed_headers); !s) {
      return s.err();
    }
    auto ins = conn.exec(
        "INSERT INTO quarantine (tenant, channel, reason, received_at_ms, body, bytes, charge, "
        "headers) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        {body.tenant, body.channel, body.reason, bigint(body.received_at.unix_ms),
         param::bytes(sealed), bigint(static_cast<std::uint64_t>(body.body.size())),
         bigint(charge),
         sealed_headers.empty() ? param::null_value() : param::bytes(sealed_headers)});
    if (!ins) {
      return ins.err();
    }
    auto id = ins->int64(0, 0);
    if (!id) {
      return id.err();
    }
    if (auto r = conn.exec("UPDATE quarantine_usage SET bytes = bytes + $3 "
                           "WHERE tenant = $1 AND channel = $2",
                           {body.tenant, body.channel, bigint(charge)});
        !r) {
      return r.err();
    }
    if (auto st = tx.commit(); !st) {
      return st.err();
    }
    return static_cast<std::uint64_t>(*id);
  }

  std::vector<quarantined_body> quarantined(const std::string& tenant) override {
    std::vector<quarantined_body> out;
    auto c = pool_->take();
    if (!c) {
      log::error("store", "quarantined(", tenant, "): ", c.err().message);
      return out;
    }
    auto q = (*c)->exec(
        "SELECT id, channel, reason, received_at_ms, body, headers FROM quarantine "
        "WHERE tenant = $1 ORDER BY id",
        {tenant});
    if (!q) {
      log::error("store", "quarantined(", tenant, "): ", q.err().message);
      return out;
    }
    for (int i = 0; i < q->size(); ++i) {
      auto b = quarantined_row(**c, tenant, *q, i, 0);
      if (!b) {
        // One unreadable body must not hide the others; the operator sees which one.
        log::error("store", "quarantined(", tenant, "): ", b.err().message);
        continue;
      }
      out.push_back(std::move(*b));
    }
    return out;
  }

  result<std::vector<quarantine_entry>> quarantine_list(const std::string& tenant,
                                                        const std::string& channel,
                                                        std::uint64_t after_id,
                                                        std::size_t limit) override {
    std::vector<quarantine_entry> out;
    if (limit == 0) {
      return out;
    }
    auto c = pool_->take();
    if (!c) {
      return c.err();
    }
    auto q = (*c)->exec(
        "SELECT id, channel, reason, received_at_ms, bytes FROM quarantine "
        "WHERE tenant = $1 AND id > $2 AND ($4 = '' OR channel = $4) ORDER BY id LIMIT $3",
        {tenant, bigint(after_id), bigint(limit), channel});
    if (!q) {
      return q.err();
    }
    for (int i = 0; i < q->size(); ++i) {
      auto e = entry_row(*q, i, 0);
      if (!e) {
        return e.err();
      }
      out.push_back(std::move(*e));
    }
    return out;
  }

  result<quarantined_body> quarantined_one(const std::string& tenant, std::uint64_t id) override {
    auto c = pool_->take();
    if (!c) {
      return c.err();
    }
    auto q = (*c)->exec(
        "SELECT id, channel, reason, received_at_ms, body, headers FROM quarantine "
        "WHERE tenant = $1 AND id = $2",
        {tenant, bigint(id)});
    if (!q) {
      return q.err();
    }
    if (q->size() == 0) {
      return no_quarantined(id);
    }
    return quarantined_row(**c, tenant, *q, 0, 0);
  }

  result<quarantine_entry> drop_quarantined(const std::string& tenant, std::uint64_t id) override {
    auto c = pool_->take();
    if (!c) {
      return c.err();
    }
    transaction tx(**c);
    if (auto st = tx.begin(); !st) {
      return st.err();
    }
    auto q = (*c)->exec(
        "DELETE FROM quarantine WHERE tenant = $1 AND id = $2 "
        "RETURNING id, channel, reason, received_at_ms, bytes, charge",
        {tenant, bigint(id)});
    if (!q) {
      return q.err();
    }
    if (q->size() == 0) {
      return no_quarantined(id);
    }
    auto e = entry_row(*q, 0, 0);
    auto charge = q->int64(0, 5);
    if (!e || !charge) {
      return !e ? e.err() : charge.err();
    }
    if (auto st = give_back(**c, tx, tenant, e->channel, *charge); !st) {
      return st.err();
    }
    return e;
  }

  result<quarantine_purge> drop_quarantine_of(const std::string& tenant,
                                              const std::string& channel) override {
    quarantine_purge out;
    auto c = pool_->take();
    if (!c) {
      return c.err();
    }
    transaction tx(**c);
    if (auto st = tx.begin(); !st) {
      return st.err();
    }
    auto q = (*c)->exec(
        "WITH gone AS (DELETE FROM quarantine WHERE tenant = $1 AND channel = $2 "
        "RETURNING bytes, charge) "
        "SELECT COUNT(*), COALESCE(SUM(bytes), 0), COALESCE(SUM(charge), 0) FROM gone",
        {tenant, channel});
    if (!q) {
      return q.err();
    }
    auto bodies = q->int64(0, 0);
    auto bytes = q->int64(0, 1);
    auto charge = q->int64(0, 2);
    if (!bodies || !bytes || !charge) {
      return error{errc::internal, "purge quarantine: unexpected totals"};
    }
    if (auto st = give_back(**c, tx, tenant, channel, *charge); !st) {
      return st.err();
    }
    out.bodies = static_cast<std::uint64_t>(*bodies);
    out.bytes = static_cast<std::uint64_t>(*bytes);
    return out;
  }

  result<std::uint64_t> quarantine_used(const std::string& tenant,
                                        const std::string& channel) override {
    auto c = pool_->take();
    if (!c) {
      return c.err();
    }
    auto q = (*c)->exec("SELECT bytes FROM quarantine_usage WHERE tenant = $1 AND channel = $2",
                        {tenant, channel});
    if (!q) {
      return q.err();
    }
    if (q->size() == 0) {
      return std::uint64_t{0};
    }
    auto n = q->int64(0, 0);
    if (!n) {
      return n.err();
    }
    return static_cast<std::uint64_t>(*n);
  }

 private:
  /// The append's statements, inside its transaction: one per step for the whole batch (arrays
  /// through `unnest`), not one per event.
  status append_in(connection& c, std::vector<append_request>& requests,
                   std::vector<std::vector<append_outcome>>& outcomes) {
    const std::int64_t now_ms = now().unix_ms;
    // 1. Each tenant's head row, locked in name order (two replicas' batches never wait on each
    // other in a cycle) until COMMIT.
    std::map<std::string, std::uint64_t> heads;
    for (const auto& req : requests) {
      heads.emplace(req.tenant, 0);
    }
    {
      std::vector<std::string> tenants;
      for (const auto& [tenant, seq] : heads) {
        tenants.push_back(tenant);
      }
      auto q = c.exec(
          "INSERT INTO tenant_heads AS h (tenant, seq) "
          "SELECT t, 0 FROM unnest($1::text[]) WITH ORDINALITY AS n (t, i) ORDER BY i "
          "ON CONFLICT (tenant) DO UPDATE SET seq = h.seq RETURNING tenant, seq",
          {text_array(tenants)});
      if (!q) {
        return q.err();
      }
      for (int i = 0; i < q->size(); ++i) {
        auto v = q->int64(i, 1);
        if (!v) {
          return v.err();
        }
        heads[std::string(q->text(i, 0))] = static_cast<std::uint64_t>(*v);
      }
    }
    // 2. The batch's dedupe keys that are stored already.
    std::vector<std::vector<std::string>> digests(requests.size());
    std::unordered_map<std::string, std::uint64_t> claimed;  // digest -> seq
    {
      std::vector<const std::string*> wanted;
      for (std::size_t i = 0; i < requests.size(); ++i) {
        auto& req = requests[i];
        digests[i].resize(req.events.size());
        for (std::size_t j = 0; j < req.events.size(); ++j) {
          const auto& ev = req.events[j];
          if (!ev.dedupe_key.empty()) {
            digests[i][j] = keys_.dedupe_digest(req.tenant, ev.channel.name, ev.dedupe_key);
            wanted.push_back(&digests[i][j]);
          }
        }
      }
      if (!wanted.empty()) {
        auto q = c.exec("SELECT digest, seq FROM dedupe WHERE digest = ANY($1::bytea[])",
                        {bytea_array(wanted)});
        if (!q) {
          return q.err();
        }
        for (int i = 0; i < q->size(); ++i) {
          auto d = q->bytes(i, 0);
          auto v = q->int64(i, 1);
          if (!d || !v) {
            return !d ? d.err() : v.err();
          }
          claimed.emplace(std::move(*d), static_cast<std::uint64_t>(*v));
        }
      }
    }
    // 3. Each event: a duplicate (of a stored one, or of one earlier in the batch), or new with
    // the tenant's next seq.
    struct fresh_event {
      std::size_t req;
      std::size_t ev;
    };
    std::vector<fresh_event> fresh;
    std::vector<key_ring::wanted> subjects;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      auto& req = requests[i];
      auto& out = outcomes[i];
      out.reserve(req.events.size());
      std::uint64_t& last = heads[req.tenant];
      for (std::size_t j = 0; j < req.events.size(); ++j) {
        auto& ev = req.events[j];
        const std::string& digest = digests[i][j];
        if (!digest.empty()) {
          if (auto it = claimed.find(digest); it != claimed.end()) {
            out.push_back({true, it->second});
            continue;
          }
        }
        ev.seq = ++last;
        if (!digest.empty()) {
          claimed.emplace(digest, ev.seq);
        }
        out.push_back({false, ev.seq});
        fresh.push_back({i, j});
        subjects.push_back({req.tenant, ev.subject, ev.channel.name});
      }
    }
    if (fresh.empty()) {
      return {};
    }
    // 4. Their data keys: read, and those missing created.
    std::unordered_map<std::string, data_key> used_keys;
    if (auto st = keys_.writer_keys(c, used_keys, subjects, now_ms); !st) {
      return st;
    }
    // 5. The events, sealed, and their dedupe keys.
    std::vector<std::string> tenants, seqs, channels, types, ids, subject_names, key_ids,
        received, sealed_bodies;
    std::vector<const std::string*> event_digests;
    std::vector<std::string> dedupe_tenants, dedupe_channels, dedupe_seqs;
    std::vector<const std::string*> dedupe_digests;
    sealed_bodies.reserve(fresh.size());
    std::string payload;
    std::string aad;
    for (const auto& f : fresh) {
      const auto& req = requests[f.req];
      const auto& ev = req.events[f.ev];
      const std::string& digest = digests[f.req][f.ev];
      const data_key& key = used_keys.at(key_ring::id(req.tenant, ev.subject));
      start_payload(payload, ev.conversation);
      append_json(payload, ev);
      event_aad(aad, req.tenant, ev.seq);
      std::string sealed;
      if (auto st = crypto::seal_append(sealed, key.key, payload, aad); !st) {
        return st;
      }
      tenants.push_back(req.tenant);
      seqs.push_back(bigint(ev.seq));
      channels.push_back(ev.channel.name);
      types.push_back(ev.type);
      ids.push_back(ev.id);
      subject_names.push_back(ev.subject);
      key_ids.push_back(bigint(key.id));
      received.push_back(bigint(ev.received_at.unix_ms));
      sealed_bodies.push_back(std::move(sealed));
      event_digests.push_back(digest.empty() ? nullptr : &digest);
      if (!digest.empty()) {
        dedupe_tenants.push_back(req.tenant);
        dedupe_channels.push_back(ev.channel.name);
        dedupe_seqs.push_back(bigint(ev.seq));
        dedupe_digests.push_back(&digest);
      }
    }
    std::vector<const std::string*> bodies;
    for (const auto& b : sealed_bodies) {
      bodies.push_back(&b);
    }
    if (auto q = c.exec(
            "INSERT INTO events (tenant, seq, channel, type, event_id, subject, subject_key, "
            "received_at_ms, dedupe_digest, body) SELECT * FROM unnest($1::text[], "
            "$2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], "
            "$8::bigint[], $9::bytea[], $10::bytea[])",
            {text_array(tenants), text_array(seqs), text_array(channels), text_array(types),
             text_array(ids), text_array(subject_names), text_array(key_ids), text_array(received),
             bytea_array(event_digests), bytea_array(bodies)});
        !q) {
      return q.err();
    }
    if (!dedupe_digests.empty()) {
      if (auto q = c.exec(
              "INSERT INTO dedupe (digest, tenant, channel, seq, created_at_ms) "
              "SELECT d, t, ch, s, $5::bigint FROM unnest($1::bytea[], $2::text[], $3::text[], "
              "$4::bigint[]) AS n (d, t, ch, s)",
              {bytea_array(dedupe_digests), text_array(dedupe_tenants),
               text_array(dedupe_channels), text_array(dedupe_seqs), bigint(now_ms)});
          !q) {
        return q.err();
      }
    }
    // 6. The heads.
    std::vector<std::string> head_tenants, head_seqs;
    for (const auto& [tenant, seq] : heads) {
      head_tenants.push_back(tenant);
      head_seqs.push_back(bigint(seq));
    }
    if (auto q = c.exec(
            // Every replica's listener hears of the new heads when (and only if) this commits,
            // in commit order (store/pg/listener.hpp).
            "UPDATE tenant_heads h SET seq = n.s FROM unnest($1::text[], $2::bigint[]) "
            "AS n (t, s) WHERE h.tenant = n.t "
            "RETURNING pg_notify('switchboard_events', h.tenant || ' ' || h.seq)",
            {text_array(head_tenants), text_array(head_seqs)});
        !q) {
      return q.err();
    }
    return {};
  }

  /// After a deletion of quarantined bodies: their charge leaves the channel's usage, and the
  /// transaction commits.
  static status give_back(connection& c, transaction& tx, const std::string& tenant,
                          const std::string& channel, std::int64_t charge) {
    if (auto r = c.exec("UPDATE quarantine_usage SET bytes = bytes - $3 "
                        "WHERE tenant = $1 AND channel = $2",
                        {tenant, channel, bigint(charge)});
        !r) {
      return r.err();
    }
    return tx.commit();
  }

  static result<quarantine_entry> entry_row(const rows& q, int i, int first) {
    auto id = q.int64(i, first);
    auto received = q.int64(i, first + 3);
    auto bytes = q.int64(i, first + 4);
    if (!id || !received || !bytes) {
      return error{errc::internal, "a quarantine row is malformed"};
    }
    return quarantine_entry{static_cast<std::uint64_t>(*id), std::string(q.text(i, first + 1)),
                            std::string(q.text(i, first + 2)), timestamp::from_millis(*received),
                            static_cast<std::uint64_t>(*bytes)};
  }

  /// A row of (id, channel, reason, received_at_ms, body, headers), opened.
  result<quarantined_body> quarantined_row(connection& c, const std::string& tenant,
                                           const rows& q, int i, int first) {
    quarantined_body b;
    auto id = q.int64(i, first);
    auto received = q.int64(i, first + 3);
    if (!id || !received) {
      return error{errc::internal, "a quarantine row is malformed"};
    }
    b.id = static_cast<std::uint64_t>(*id);
    b.tenant = tenant;
    b.channel = std::string(q.text(i, first + 1));
    b.reason = std::string(q.text(i, first + 2));
    b.received_at = timestamp::from_millis(*received);
    auto key = tenant_key(c, tenant);
    if (!key) {
      return error{key.err().code, "body " + std::to_string(b.id) + ": " + key.err().message};
    }
    auto body = q.bytes(i, first + 4);
    if (!body) {
      return body.err();
    }
    if (auto st = crypto::open_append(b.body, *key, *body, quarantine_aad(tenant, b.channel));
        !st) {
      return error{errc::internal,
                   "body " + std::to_string(b.id) + " does not open: " + st.err().message};
    }
    if (!q.is_null(i, first + 5)) {
      auto headers = q.bytes(i, first + 5);
      if (!headers) {
        return headers.err();
      }
      std::string plain;
      if (auto st = crypto::open_append(plain, *key, *headers,
                                        quarantine_headers_aad(tenant, b.channel));
          !st) {
        return error{errc::internal, "the headers of body " + std::to_string(b.id) +
                                         " do not open: " + st.err().message};
      }
      if (!decode_headers(plain, b.headers)) {
        return error{errc::internal,
                     "the headers of body " + std::to_string(b.id) + " are malformed"};
      }
    }
    return b;
  }

  /// The tenant's subjectless data key, which seals its quarantined bodies.
  result<std::string> tenant_key(connection& c, const std::string& tenant) {
    auto q = c.exec("SELECT wrapped FROM subject_keys WHERE tenant = $1 AND subject = ''",
                    {tenant});
    if (!q) {
      return q.err();
    }
    if (q->size() == 0) {
      return error{errc::internal, "no data key for tenant " + tenant};
    }
    auto wrapped = q->bytes(0, 0);
    if (!wrapped) {
      return wrapped.err();
    }
    return keys_.unwrap(tenant, "", *wrapped);
  }

  std::shared_ptr<pool> pool_;
  key_ring keys_;
};

}  // namespace

result<std::shared_ptr<event_log>> make_event_log(std::shared_ptr<pool> connections,
                                                  const std::string& root_key,
                                                  const std::string& master_key) {
  key_ring keys;
  if (auto st = keys.derive(root_key, master_key); !st) {
    return st.err();
  }
  return std::shared_ptr<event_log>(
      std::make_shared<pg_event_log>(std::move(connections), std::move(keys)));
}

}  // namespace sb::store::pg
