#include <catch2/catch.hpp>

#include "loadtest/loss.hpp"

using sb::loadtest::loss_checker;

TEST_CASE("a clean stream: every acknowledged id once, nothing rejected") {
  loss_checker c;
  c.answered("a", 200);
  c.answered("b", 200);
  c.answered("b", 200);  // a duplicate re-send, acknowledged again
  c.answered("bad", 401);
  c.answered("malformed", 400);
  CHECK(c.outstanding() == 2);
  c.seen("a");
  c.seen("b");
  CHECK(c.outstanding() == 0);
  const auto r = c.check();
  CHECK(r.ok());
  CHECK(r.acked == 2);
  CHECK(r.delivered == 2);
  CHECK(r.rejected == 2);
  CHECK(r.missing == 0);
  CHECK(r.samples.empty());
}

TEST_CASE("the loss checker finds missing, duplicated and rejected-but-present ids") {
  loss_checker c;
  c.answered("ok", 200);
  c.answered("lost", 200);
  c.answered("twice", 200);
  c.answered("forged", 401);
  c.answered("broken", 400);
  c.answered("shed", 503);
  c.answered("timed-out", 0);
  c.seen("ok");
  c.seen("twice");
  c.seen("twice");
  c.seen("forged");
  c.seen("timed-out");  // stored before the client gave up: allowed once
  c.seen("someone-else");
  const auto r = c.check();
  CHECK_FALSE(r.ok());
  CHECK(r.acked == 3);
  CHECK(r.delivered == 1);
  CHECK(r.missing == 1);
  CHECK(r.duplicated == 1);
  CHECK(r.rejected == 2);
  CHECK(r.rejected_present == 1);
  CHECK(r.unknown == 2);
  CHECK(r.unknown_seen == 1);
  CHECK(r.unexpected == 1);
  CHECK(r.samples.size() == 3);
  CHECK(c.check(1).samples.size() == 1);
}

TEST_CASE("each failure alone fails the check") {
  {
    loss_checker c;
    c.answered("x", 200);
    CHECK_FALSE(c.check().ok());
  }
  {
    loss_checker c;
    c.answered("x", 200);
    c.seen("x");
    c.seen("x");
    CHECK_FALSE(c.check().ok());
  }
  {
    loss_checker c;
    c.answered("x", 400);
    c.seen("x");
    CHECK_FALSE(c.check().ok());
  }
  {
    loss_checker c;
    c.answered("x", 503);
    c.seen("x");
    c.seen("x");
    CHECK_FALSE(c.check().ok());
  }
}
