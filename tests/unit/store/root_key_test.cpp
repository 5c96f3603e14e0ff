// The root record (store/root_key.hpp): the root key opens only under the master key it was
// sealed with; a store without a record has the master key as its root key.
#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "store/root_key.hpp"

using sb::errc;

TEST_CASE("a root record opens under its master key only", "[store][root_key]") {
  const std::string a(32, 'a');
  const std::string b(32, 'b');
  const std::string root(32, 'r');
  auto record = sb::store::seal_root_key(b, root);
  REQUIRE(record);
  CHECK(record->find(root) == std::string::npos);  // sealed, not stored in clear

  auto opened = sb::store::root_key_of(b, *record);
  REQUIRE(opened);
  CHECK(*opened == root);

  auto refused = sb::store::root_key_of(a, *record);
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::unauthorized);
  CHECK(refused.err().message == sb::store::k_root_key_refused);

  // A flipped byte does not open either.
  std::string torn = *record;
  torn[torn.size() / 2] = static_cast<char>(~torn[torn.size() / 2]);
  CHECK_FALSE(sb::store::root_key_of(b, torn));
}

TEST_CASE("a store never rotated has its master key as its root key", "[store][root_key]") {
  const std::string a(32, 'a');
  auto root = sb::store::root_key_of(a, std::nullopt);
  REQUIRE(root);
  CHECK(*root == a);
  CHECK_FALSE(sb::store::root_key_of("short", std::nullopt));
  CHECK_FALSE(sb::store::seal_root_key(a, "short"));
}

TEST_CASE("rotating the memory backend or to the same key is refused", "[store][root_key]") {
  sb::config::storage_config memory;
  memory.master_key = std::string(32, 'a');
  auto none = sb::store::rotate_master_key(memory, std::string(32, 'b'));
  REQUIRE_FALSE(none);
  CHECK(none.err().message.find("nothing is stored") != std::string::npos);

  sb::config::storage_config same = memory;
  same.backend = "sqlite";
  auto unchanged = sb::store::rotate_master_key(same, same.master_key);
  REQUIRE_FALSE(unchanged);
  CHECK(unchanged.err().message.find("is the current one") != std::string::npos);
  CHECK_FALSE(sb::store::rotate_master_key(same, "short"));
}
