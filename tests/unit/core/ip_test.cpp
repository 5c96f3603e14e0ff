#include <catch2/catch.hpp>

#include "core/ip.hpp"

using namespace sb;

TEST_CASE("IPv4 and IPv6 addresses parse to one form, mapped IPv4 equal to plain", "[ip]") {
  auto v4 = ip::parse_address("192.0.2.7");
  auto mapped = ip::parse_address("::ffff:192.0.2.7");
  REQUIRE(v4);
  REQUIRE(mapped);
  CHECK(*v4 == *mapped);
  CHECK(ip::to_string(*v4) == "192.0.2.7");
  auto v6 = ip::parse_address("[2001:DB8::1]");
  REQUIRE(v6);
  CHECK(ip::to_string(*v6) == "2001:db8::1");
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "example.com", "1.2.3.4:80",
                          "fe80::1%eth0", "::g", "[::1"}) {
    CAPTURE(bad);
    CHECK_FALSE(ip::parse_address(bad));
  }
}

TEST_CASE("networks contain exactly the addresses of their prefix", "[ip]") {
  auto ten = ip::parse_network("10.0.0.0/8");
  REQUIRE(ten);
  CHECK(ten->contains(*ip::parse_address("10.255.1.2")));
  CHECK_FALSE(ten->contains(*ip::parse_address("11.0.0.1")));
  CHECK(ten->contains(*ip::parse_address("::ffff:10.0.0.1")));
  auto host = ip::parse_network("192.0.2.7");
  REQUIRE(host);
  CHECK(host->contains(*ip::parse_address("192.0.2.7")));
  CHECK_FALSE(host->contains(*ip::parse_address("192.0.2.8")));
  auto ula = ip::parse_network("fd00::/8");
  REQUIRE(ula);
  CHECK(ula->contains(*ip::parse_address("fd12:3456::1")));
  CHECK_FALSE(ula->contains(*ip::parse_address("fe80::1")));
  auto all = ip::parse_network("0.0.0.0/0");
  REQUIRE(all);
  CHECK(all->contains(*ip::parse_address("203.0.113.9")));
  CHECK_FALSE(all->contains(*ip::parse_address("2001:db8::1")));
  CHECK(ip::contains_any({*ten, *ula}, *ip::parse_address("fd00::5")));
  CHECK_FALSE(ip::contains_any({}, *ip::parse_address("10.0.0.1")));
}

TEST_CASE("a network with host bits set or a bad prefix is refused", "[ip]") {
  for (const char* bad : {"10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "::1/129",
                          "fd00::1/8", "10.0.0.0/8x", "nonsense/8"}) {
    CAPTURE(bad);
    CHECK_FALSE(ip::parse_network(bad));
  }
}

TEST_CASE("loopback listen hosts are recognised, wildcard and public ones are not", "[ip]") {
  CHECK(ip::is_loopback_host(ip::host_of("127.0.0.1:8080")));
  CHECK(ip::is_loopback_host(ip::host_of("127.1.2.3:0")));
  CHECK(ip::is_loopback_host(ip::host_of("[::1]:8080")));
  CHECK(ip::is_loopback_host(ip::host_of("localhost:8080")));
  CHECK_FALSE(ip::is_loopback_host(ip::host_of("0.0.0.0:8080")));
  CHECK_FALSE(ip::is_loopback_host(ip::host_of("[::]:8080")));
  CHECK_FALSE(ip::is_loopback_host(ip::host_of("10.1.2.3:8080")));
  CHECK_FALSE(ip::is_loopback_host(ip::host_of("gw.example.com:443")));
}
