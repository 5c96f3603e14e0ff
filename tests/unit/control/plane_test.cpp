// The control plane (src/control/plane.hpp) without sockets or actors: over the memory store,
// with hooks that record what would be applied. Each call is validated by the file's rules,
// stored with its audit entry and applied before it answers; the file's tenants are read-only;
// what is stored composes again at the next start.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <mutex>
#include <vector>

#include "adapters/adapter.hpp"
#include "config/loader.hpp"
#include "control/plane.hpp"
#include "store/stores.hpp"

using namespace sb;

namespace {

const char* k_yaml = R"(storage:
  master_key: "0000000000000000000000000000000000000000000000000000000000000007"
tenants:
  - id: filed
    channels:
      - name: tg
        type: telegram
        secret_token: "file-secret-token-123"
)";

std::shared_ptr<const config::config> file_config(const std::string& yaml = k_yaml) {
  auto loaded = config::load_string(yaml, "test.yaml", adapters::schemas());
  INFO(loaded.errors.to_string());
  REQUIRE(loaded.ok());
  return loaded.cfg;
}

/// A plane over `stores`, started, recording every config it applies.
struct harness {
  explicit harness(store::stores s, const std::string& yaml = k_yaml) : stores(std::move(s)) {
    plane = std::make_unique<control::plane>(stores.definitions, adapters::schemas(),
                                             control::plane::options{});
    auto composed = plane->compose_at_start(file_config(yaml));
    REQUIRE(composed);
    start_cfg = *composed;
    control::plane::hooks h;
    h.apply = [this](std::shared_ptr<const config::config> c) -> status {
      std::lock_guard<std::mutex> lock(m);
      applied.push_back(std::move(c));
      return {};
    };
    h.erase_tenant = [this](const std::string& tenant, const std::vector<std::string>& channels) {
      erased_tenant = tenant;
      erased_channels = channels;
      return result<store::erase_outcome>(store::erase_outcome{});
    };
    plane->start(std::move(h));
  }

  http::response call(control::operation op, std::vector<std::string> params,
                      std::string body = {}) {
    control::request r;
    r.op = op;
    r.params = std::move(params);
    r.body = std::move(body);
    r.operator_name = "ops";
    std::promise<http::response> answer;
    plane->submit(std::move(r), [&](http::response res) { answer.set_value(std::move(res)); });
    return answer.get_future().get();
  }

  std::shared_ptr<const config::config> last_applied() {
    std::lock_guard<std::mutex> lock(m);
    return applied.empty() ? nullptr : applied.back();
  }

  store::stores stores;
  std::unique_ptr<control::plane> plane;
  std::shared_ptr<const config::config> start_cfg;
  std::mutex m;
  std::vector<std::shared_ptr<const config::config>> applied;
  std::string erased_tenant;
  std::vector<std::string> erased_channels;
};

using op = control::operation;

}  // namespace

TEST_CASE("a created tenant, channel and subscriber are stored, audited and applied", "[control]") {
  harness h(store::make_memory_stores());
  CHECK(h.start_cfg->tenants.size() == 1);
  auto t = h.call(op::create_tenant, {}, R"({"id":"bistro","rate_limit":{"rps":5}})");
  INFO(t.body);
  REQUIRE(t.status == 201);
  REQUIRE(h.last_applied());
  const auto* bistro = h.last_applied()->find_tenant("bistro");
  REQUIRE(bistro != nullptr);
  CHECK(bistro->rate_limit.rps == 5);
  CHECK(bistro->rate_limit.burst == 5);  // the file's default: burst = rps

  auto c = h.call(op::create_channel, {"bistro"},
                  R"({"name":"tg","type":"telegram","secret_token":"bistro-secret-token-1"})");
  INFO(c.body);
  REQUIRE(c.status == 201);
  const auto* ch = h.last_applied()->find_tenant("bistro")->find_channel("tg");
  REQUIRE(ch != nullptr);
  CHECK(ch->get("secret_token") == "bistro-secret-token-1");
  CHECK(c.body.find("bistro-secret-token-1") == std::string::npos);

  auto s = h.call(op::create_subscriber, {"bistro"}, R"({"name":"desk","scopes":["stream"]})");
  INFO(s.body);
  REQUIRE(s.status == 201);
  CHECK(h.last_applied()->find_tenant("bistro")->subscribers.size() == 1);
  CHECK(h.plane->running() == h.last_applied());

  auto audit = h.stores.privacy->audit_log("bistro", 0, 100);
  REQUIRE(audit.size() == 3);
  CHECK(audit[0].action == "tenant_create");
  CHECK(audit[1].action == "channel_create");
  CHECK(audit[2].action == "subscriber_create");
  CHECK(audit[2].actor == "operator:ops");

  // What is stored composes again at the next start, after the file's tenants.
  control::plane again(h.stores.definitions, adapters::schemas(), {});
  auto composed = again.compose_at_start(file_config());
  REQUIRE(composed);
  REQUIRE((*composed)->tenants.size() == 2);
  CHECK((*composed)->tenants[1].id == "bistro");
  CHECK((*composed)->tenants[1].channels.at(0).get("secret_token") == "bistro-secret-token-1");
}

TEST_CASE("a changed secret keeps the previous one as K_previous, and a deleted tenant is erased",
          "[control]") {
  harness h(store::make_memory_stores());
  REQUIRE(h.call(op::create_tenant, {}, R"({"id":"bistro"})").status == 201);
  REQUIRE(h.call(op::create_channel, {"bistro"},
                 R"({"name":"tg","type":"telegram","secret_token":"before-secret-token"})")
              .status == 201);
  auto p = h.call(op::update_channel, {"bistro", "tg"}, R"({"secret_token":"after-secret-token"})");
  INFO(p.body);
  REQUIRE(p.status == 200);
  const auto* ch = h.last_applied()->find_tenant("bistro")->find_channel("tg");
  CHECK(ch->get("secret_token") == "after-secret-token");
  CHECK(ch->get("secret_token_previous") == "before-secret-token");
  // The previous key is the gateway's to set.
  CHECK(h.call(op::update_channel, {"bistro", "tg"}, R"({"secret_token_previous":"x"})").status ==
        400);
  CHECK(h.call(op::update_channel, {"bistro", "tg"}, R"({"type":"whatsapp"})").status == 400);

  REQUIRE(h.call(op::delete_channel, {"bistro", "tg"}).status == 200);
  CHECK(h.last_applied()->find_tenant("bistro")->channels.empty());
  CHECK(h.call(op::delete_tenant, {"bistro"}, R"({})").status == 400);
  auto del = h.call(op::delete_tenant, {"bistro"}, R"({"confirm":"bistro"})");
  INFO(del.body);
  REQUIRE(del.status == 200);
  CHECK(h.erased_tenant == "bistro");
  CHECK(h.erased_channels == std::vector<std::string>{"tg"});  // a deleted channel too
  CHECK(h.last_applied()->find_tenant("bistro") == nullptr);
  CHECK(h.stores.definitions->load_all()->empty());
}

TEST_CASE("bad bodies get every problem, the file's tenants are read-only", "[control]") {
  harness h(store::make_memory_stores());
  auto bad = h.call(op::create_tenant, {}, R"({"id":"x y","rate_limit":{"rps":"fast"},"nope":1})");
  INFO(bad.body);
  CHECK(bad.status == 400);
  CHECK(bad.body.find(R"("error":"invalid_config")") != std::string::npos);
  for (const char* pointer :
       {R"("pointer":"/id")", R"("pointer":"/rate_limit/rps")", R"("pointer":"/nope")"}) {
    CHECK(bad.body.find(pointer) != std::string::npos);
  }
  CHECK(h.call(op::create_tenant, {}, R"({"id":"filed"})").status == 409);
  CHECK(h.call(op::update_tenant, {"filed"}, R"({"rate_limit":{"rps":1}})").status == 409);
  CHECK(h.call(op::create_channel, {"nobody"}, R"({"name":"tg"})").status == 404);
  CHECK(h.call(op::create_tenant, {}, R"({"id":"t","channels":[]})").status == 400);
  // A subscriber's token is the gateway's to make.
  REQUIRE(h.call(op::create_tenant, {}, R"({"id":"t"})").status == 201);
  CHECK(h.call(op::create_subscriber, {"t"}, R"({"name":"s","token_sha256":"00"})").status == 400);
  CHECK(h.applied.size() == 1);  // only the valid tenant was applied
}

TEST_CASE("a subscriber's PATCH keeps its token, which no other subscriber may take", "[control]") {
  harness h(store::make_memory_stores());
  REQUIRE(h.call(op::create_tenant, {}, R"({"id":"bistro"})").status == 201);
  auto desk = h.call(op::create_subscriber, {"bistro"}, R"({"name":"desk","scopes":["stream"]})");
  REQUIRE(desk.status == 201);
  auto p = h.call(op::update_subscriber, {"bistro", "desk"}, R"({"scopes":["stream","send"]})");
  INFO(p.body);
  REQUIRE(p.status == 200);
  const auto& sub = h.last_applied()->find_tenant("bistro")->subscribers.at(0);
  CHECK(sub.has_scope(config::scope::send));
  CHECK(sub.token_sha256.size() == 64);
  REQUIRE(h.call(op::rotate_token, {"bistro", "desk"}).status == 200);
}

namespace {

// The file's tenants handed to the control plane: a secret from the environment, a literal
// "${" in a value, a previous secret, a subscriber with its token's digest.
const std::string k_managed_yaml = R"(storage:
  master_key: "0000000000000000000000000000000000000000000000000000000000000007"
control_plane:
  manage_file_tenants: true
tenants:
  - id: filed
    rate_limit: {rps: 7}
    channels:
      - name: tg
        type: telegram
        secret_token: "${SB_PLANE_TEST_SECRET}"
        secret_token_previous: "the-old-secret-token"
        bot_token: "12345:abc$${not-a-variable}"
    subscribers:
      - name: desk
        token_sha256: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        scopes: [stream]
)";

}  // namespace

TEST_CASE("manage_file_tenants imports the file's tenants once and serves them from the store",
          "[control]") {
  ::setenv("SB_PLANE_TEST_SECRET", "secret-from-the-environment", 1);
  auto stores = store::make_memory_stores();
  {
    harness h(stores, k_managed_yaml);
    // Served as the file says, now from the store.
    const auto* filed = h.start_cfg->find_tenant("filed");
    REQUIRE(filed != nullptr);
    CHECK(filed->file_object.empty());
    CHECK(filed->rate_limit.rps == 7);
    const auto* tg = filed->find_channel("tg");
    REQUIRE(tg != nullptr);
    CHECK(tg->get("secret_token") == "secret-from-the-environment");
    CHECK(tg->get("secret_token_previous") == "the-old-secret-token");  // in its grace
    CHECK(tg->get("bot_token") == "12345:abc${not-a-variable}");
    REQUIRE(filed->subscribers.size() == 1);
    CHECK(filed->subscribers[0].token_sha256 == std::string(64, 'a'));
    REQUIRE(h.stores.definitions->load_all()->size() == 1);
    auto audit = h.stores.privacy->audit_log("filed", 0, 10);
    REQUIRE(audit.size() == 1);
    CHECK(audit[0].action == "tenant_import");
    CHECK(audit[0].actor == "config:test.yaml");

    // Changeable through the API, secrets never shown.
    auto view = h.call(op::get_tenant, {"filed"});
    INFO(view.body);
    CHECK(view.body.find(R"("source":"api")") != std::string::npos);
    CHECK(view.body.find(R"("imported_from":"test.yaml")") != std::string::npos);
    CHECK(view.body.find("secret-from-the-environment") == std::string::npos);
    CHECK(view.body.find("the-old-secret-token") == std::string::npos);
    CHECK(view.body.find("not-a-variable") == std::string::npos);
    REQUIRE(h.call(op::update_tenant, {"filed"}, R"({"rate_limit":{"rps":9}})").status == 200);
    CHECK(h.last_applied()->find_tenant("filed")->rate_limit.rps == 9);

    // A tenant the file gains is imported at the reload; the imported one's entry is not read.
    const std::string more = k_managed_yaml + R"(  - id: later
    rate_limit: {rps: 3}
)";
    std::string changed = more;
    changed.replace(changed.find("{rps: 7}"), 8, "{rps: 1}");
    REQUIRE(h.plane->replace_file_config(file_config(changed)));
    CHECK(h.last_applied()->find_tenant("filed")->rate_limit.rps == 9);
    REQUIRE(h.last_applied()->find_tenant("later") != nullptr);
    CHECK(h.stores.definitions->load_all()->size() == 2);
    CHECK(h.call(op::update_tenant, {"later"}, R"({"rate_limit":{"rps":4}})").status == 200);
  }
  // The next start imports nothing again: what the API changed stays.
  control::plane again(stores.definitions, adapters::schemas(), {});
  auto composed = again.compose_at_start(file_config(k_managed_yaml));
  REQUIRE(composed);
  REQUIRE((*composed)->find_tenant("filed") != nullptr);
  CHECK((*composed)->find_tenant("filed")->rate_limit.rps == 9);
  CHECK((*composed)->find_tenant("later")->rate_limit.rps == 4);  // not in this file: stored
  CHECK(stores.privacy->audit_log("filed", 0, 10).size() == 2);   // import, update
  ::unsetenv("SB_PLANE_TEST_SECRET");
}

TEST_CASE("without manage_file_tenants the file's tenants are neither stored nor changeable",
          "[control]") {
  harness h(store::make_memory_stores());
  CHECK(h.start_cfg->find_tenant("filed")->file_object.empty());
  CHECK(h.stores.definitions->load_all()->empty());
  CHECK(h.call(op::update_tenant, {"filed"}, R"({"rate_limit":{"rps":1}})").status == 409);
}

TEST_CASE("a change to a tenant another replica changed meanwhile is refused, not lost",
          "[control]") {
  auto stores = store::make_memory_stores();
  harness a(stores);
  REQUIRE(a.call(op::create_tenant, {}, R"({"id":"bistro"})").status == 201);
  REQUIRE(a.call(op::create_channel, {"bistro"},
                 R"({"name":"tg","type":"telegram","secret_token":"bistro-secret-token-1"})")
              .status == 201);
  harness b(stores);  // another replica: read the same definitions at its start
  REQUIRE(b.start_cfg->find_tenant("bistro") != nullptr);

  REQUIRE(a.call(op::update_tenant, {"bistro"}, R"({"rate_limit":{"rps":5}})").status == 200);
  // b has not heard of a's change yet: its change would overwrite it.
  auto stale = b.call(op::create_subscriber, {"bistro"}, R"({"name":"desk","scopes":["stream"]})");
  INFO(stale.body);
  REQUIRE(stale.status == 409);
  CHECK(stale.body.find("changed meanwhile") != std::string::npos);
  // b read the definitions again: the retry builds on a's change, and both are kept.
  auto retry = b.call(op::create_subscriber, {"bistro"}, R"({"name":"desk","scopes":["stream"]})");
  INFO(retry.body);
  REQUIRE(retry.status == 201);
  const auto* bistro = b.last_applied()->find_tenant("bistro");
  CHECK(bistro->rate_limit.rps == 5);
  CHECK(bistro->subscribers.size() == 1);
  // Creating a tenant another replica created is refused too.
  REQUIRE(a.call(op::create_tenant, {}, R"({"id":"cafe"})").status == 201);
  CHECK(b.call(op::create_tenant, {}, R"({"id":"cafe"})").status == 409);
  auto actions = std::vector<std::string>{};
  for (const auto& e : stores.privacy->audit_log("bistro", 0, 10)) {
    actions.push_back(e.action);
  }
  CHECK(actions == std::vector<std::string>{"tenant_create", "channel_create", "tenant_update",
                                            "subscriber_create"});
}

TEST_CASE("an imported tenant whose stored definition no longer validates gives way to the file's",
          "[control]") {
  ::setenv("SB_PLANE_TEST_SECRET", "secret-from-the-environment", 1);
  auto stores = store::make_memory_stores();
  // What a later version's rules would refuse: a key the tenant's table does not know.
  control::tenant_document doc;
  doc.id = "filed";
  doc.body = R"({"id":"filed","bogus":1})";
  doc.created_at_ms = doc.updated_at_ms = 1;
  store::audit_entry e;
  e.tenant = "filed";
  e.action = "tenant_import";
  REQUIRE(stores.definitions->put({"filed", control::to_json(doc), 1}, e, std::nullopt));
  control::plane p(stores.definitions, adapters::schemas(), {});
  auto composed = p.compose_at_start(file_config(k_managed_yaml));
  REQUIRE(composed);
  const auto* filed = (*composed)->find_tenant("filed");
  REQUIRE(filed != nullptr);
  CHECK(filed->rate_limit.rps == 7);  // the file's entry
  CHECK(filed->find_channel("tg") != nullptr);
  CHECK(stores.definitions->load_all()->size() == 1);  // nothing imported over it
  ::unsetenv("SB_PLANE_TEST_SECRET");
}

TEST_CASE("a call that arrives before the worker starts waits for it instead of a 503",
          "[control]") {
  // The server listens a moment before main starts the control plane's worker.
  auto stores = store::make_memory_stores();
  control::plane p(stores.definitions, adapters::schemas(), {});
  REQUIRE(p.compose_at_start(file_config()));
  control::request r;
  r.op = op::create_tenant;
  r.body = R"({"id":"early"})";
  r.operator_name = "ops";
  std::promise<http::response> answer;
  p.submit(std::move(r), [&](http::response res) { answer.set_value(std::move(res)); });
  auto pending = answer.get_future();
  CHECK(pending.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
  control::plane::hooks h;
  h.apply = [](std::shared_ptr<const config::config>) -> status { return {}; };
  h.erase_tenant = [](const std::string&, const std::vector<std::string>&) {
    return result<store::erase_outcome>(store::erase_outcome{});
  };
  p.start(std::move(h));
  auto res = pending.get();
  INFO(res.body);
  CHECK(res.status == 201);
  CHECK(p.running()->find_tenant("early") != nullptr);
}

TEST_CASE("a call queued on a plane that never starts is answered 503 when it stops", "[control]") {
  auto stores = store::make_memory_stores();
  control::plane p(stores.definitions, adapters::schemas(), {});
  REQUIRE(p.compose_at_start(file_config()));
  control::request r;
  r.op = op::list_tenants;
  r.operator_name = "ops";
  std::promise<http::response> answer;
  p.submit(std::move(r), [&](http::response res) { answer.set_value(std::move(res)); });
  p.stop();
  CHECK(answer.get_future().get().status == 503);
}
