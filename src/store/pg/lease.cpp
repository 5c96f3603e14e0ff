#include "store/pg/lease.hpp"

#include <string>

namespace sb::store::pg {

namespace {
std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()); }
}  // namespace

result<acquired> acquire(connection& c, std::string_view name, std::string_view node,
                         std::chrono::milliseconds ttl) {
  // Granted when the row is new, expired, or already this node's; the generation stays only
  // when this node renews a lease it still holds.
  auto r = c.exec(
      "INSERT INTO switchboard_leases AS l (name, holder, generation, expires_at) "
      "VALUES ($1, $2, 1, clock_timestamp() + $3::bigint * interval '1 millisecond') "
      "ON CONFLICT (name) DO UPDATE SET "
      "  generation = l.generation + "
      "    CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > clock_timestamp() "
      "         THEN 0 ELSE 1 END, "
      "  holder = EXCLUDED.holder, "
      "  expires_at = EXCLUDED.expires_at "
      "WHERE l.holder = EXCLUDED.holder OR l.expires_at <= clock_timestamp() "
      "RETURNING generation",
      {name, node, ms(ttl)});
  if (!r) {
    return r.err();
  }
  acquired out;
  if (r->size() == 1) {
    auto gen = r->int64(0, 0);
    if (!gen) {
      return gen.err();
    }
    out.granted = lease{std::string(name), std::string(node), *gen};
    return out;
  }
  auto who = c.exec(
      "SELECT holder, GREATEST(0, CEIL(EXTRACT(EPOCH FROM (expires_at - clock_timestamp())) "
      "* 1000))::bigint FROM switchboard_leases WHERE name = $1",
      {name});
  if (!who) {
    return who.err();
  }
  if (who->size() == 1) {
    out.holder = std::string(who->text(0, 0));
    auto left = who->int64(0, 1);
    out.expires_in_ms = left ? *left : 0;
  }
  return out;
}

result<bool> renew(connection& c, const lease& held, std::chrono::milliseconds ttl) {
  auto r = c.exec(
      "UPDATE switchboard_leases "
      "SET expires_at = clock_timestamp() + $4::bigint * interval '1 millisecond' "
      "WHERE name = $1 AND holder = $2 AND generation = $3",
      {held.name, held.holder, std::to_string(held.generation), ms(ttl)});
  if (!r) {
    return r.err();
  }
  return r->affected() == 1;
}

result<bool> release(connection& c, const lease& held) {
  auto r = c.exec(
      "UPDATE switchboard_leases SET expires_at = clock_timestamp() "
      "WHERE name = $1 AND holder = $2 AND generation = $3",
      {held.name, held.holder, std::to_string(held.generation)});
  if (!r) {
    return r.err();
  }
  return r->affected() == 1;
}

result<bool> hold(connection& c, const lease& held) {
  auto r = c.exec(
      "SELECT 1 FROM switchboard_leases "
      "WHERE name = $1 AND holder = $2 AND generation = $3 FOR SHARE",
      {held.name, held.holder, std::to_string(held.generation)});
  if (!r) {
    return r.err();
  }
  return r->size() == 1;
}

}  // namespace sb::store::pg
