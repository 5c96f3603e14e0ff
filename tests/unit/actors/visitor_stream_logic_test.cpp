// The plain logic of web chat visitor streams (actors/visitor_stream_logic.hpp): which events a
// visitor sees and how they are framed, and the tenant's index that wakes only the streams of
// the committed conversations.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "actors/visitor_stream_logic.hpp"
#include "store/stores.hpp"

using namespace sb;
using sb::actors::visitor_streams;
using sb::actors::visitor_view;

namespace {

store::stored_event stored(std::uint64_t seq, const std::string& conversation,
                           const std::string& json, const char* type = "message") {
  store::stored_event e;
  e.seq = seq;
  e.type = type;
  e.conversation = conversation;
  e.subject = "sub_0123456789ABCDEF";
  e.json = json;
  return e;
}

const std::string k_visitor_json =
    R"({"id":"evt_1","seq":7,"tenant":"acme","channel":{"name":"web","type":"webchat","account":"web"},)"
    R"("type":"message","conversation":"web:vis_1","subject":"sub_0123456789ABCDEF",)"
    R"("content":{"text":"hi \"there\""}})";

}  // namespace

TEST_CASE("a visitor sees their conversation's messages without subject or tenant",
          "[actors][webchat]") {
  auto item = visitor_view(stored(7, "web:vis_1", k_visitor_json), "web:vis_1");
  REQUIRE(item);
  const auto& f = *item->frame;
  CHECK(f.seq == 7);
  CHECK(f.frame.rfind("id: 7\nevent: message\ndata: {", 0) == 0);
  CHECK(f.frame.size() > 2);
  CHECK(f.frame.substr(f.frame.size() - 2) == "\n\n");
  const std::string json(f.json());
  CHECK(json.find("subject") == std::string::npos);
  CHECK(json.find("tenant") == std::string::npos);
  CHECK(json.find(R"("content":{"text":"hi \"there\""})") != std::string::npos);
  CHECK(json.find(R"("conversation":"web:vis_1")") != std::string::npos);
  CHECK(json.front() == '{');
  CHECK(json.back() == '}');
  CHECK(item->id == "evt_1");
  CHECK_FALSE(item->agent);
}

TEST_CASE("an agent reply is recognised by content.echo", "[actors][webchat]") {
  auto item = visitor_view(
      stored(9, "web:vis_1",
             R"({"id":"evt_9","type":"message","conversation":"web:vis_1","content":{"text":"ok","echo":true}})"),
      "web:vis_1");
  REQUIRE(item);
  CHECK(item->agent);
  CHECK(item->id == "evt_9");
}

TEST_CASE("another conversation or another type is not shown to the visitor",
          "[actors][webchat]") {
  CHECK_FALSE(visitor_view(stored(7, "web:vis_2", k_visitor_json), "web:vis_1"));
  CHECK_FALSE(visitor_view(stored(7, "web:vis_1", k_visitor_json, "status"), "web:vis_1"));
  CHECK_FALSE(visitor_view(stored(7, "web:vis_1", "{not json"), "web:vis_1"));
}

TEST_CASE("a page of the subject's events keeps the conversation's up to the head",
          "[actors][webchat]") {
  auto stores = store::make_memory_stores();
  std::vector<store::append_request> reqs;
  for (int i = 1; i <= 6; ++i) {
    event e;
    e.id = "evt_" + std::to_string(i);
    e.tenant = "acme";
    e.channel = {"web", "test", "web"};
    e.type = i == 3 ? "status" : "message";
    // One subject, two conversations (the person also wrote on another channel).
    e.conversation = i == 2 ? "other:vis_1" : "web:vis_1";
    e.subject = "sub_0123456789ABCDEF";
    e.dedupe_key = "k" + std::to_string(i);
    e.content.text = "m" + std::to_string(i);
    reqs.push_back({"acme", {e}});
  }
  std::vector<std::vector<store::append_outcome>> outcomes;
  REQUIRE(stores.log->append(reqs, outcomes));
  auto& ps = *stores.privacy;
  const std::string subject = "sub_0123456789ABCDEF";

  auto all = actors::read_visitor_page(ps, "acme", subject, "web:vis_1", 0, 6, 256);
  REQUIRE_FALSE(all.failed);
  std::vector<std::uint64_t> seqs;
  for (const auto& it : all.items) {
    seqs.push_back(it.frame->seq);
  }
  CHECK(seqs == std::vector<std::uint64_t>{1, 4, 5, 6});
  CHECK(all.next == 6);

  // Up to the announced head only; the rest is read once it is announced.
  auto head = actors::read_visitor_page(ps, "acme", subject, "web:vis_1", 0, 4, 256);
  CHECK(head.items.size() == 2);
  CHECK(head.next == 4);
  // A full page moves the cursor to its last seq, even when it kept nothing.
  auto page = actors::read_visitor_page(ps, "acme", subject, "web:vis_1", 1, 6, 2);
  CHECK(page.items.empty());  // seqs 2 (other conversation) and 3 (status)
  CHECK(page.next == 3);
  // Nothing to read at or past the head.
  auto none = actors::read_visitor_page(ps, "acme", subject, "web:vis_1", 6, 6, 256);
  CHECK(none.items.empty());
  CHECK(none.next == 6);
}

TEST_CASE("a commit wakes only its conversations' visitor streams once announced",
          "[actors][webchat]") {
  visitor_streams<int, int> v;
  for (int i = 0; i < 1000; ++i) {
    v.add(i, "web:vis_" + std::to_string(i), "sub_" + std::to_string(i), i);
  }
  v.add(1000, "web:vis_7", "sub_7", 1000);  // a second tab of visitor 7
  CHECK(v.size() == 1001);
  CHECK(v.conversations() == 1000);

  // Events of unwatched conversations cost nothing to remember.
  v.committed("web:nobody", 5);
  v.committed("", 6);
  CHECK(v.waiting() == 0);

  v.committed("web:vis_7", 10);
  v.committed("web:vis_7", 11);
  v.committed("web:vis_3", 12);
  CHECK(v.waiting() == 3);
  std::vector<int> woken;
  auto wake = [&](int h) { woken.push_back(h); };
  // Not announced yet: nobody is woken.
  v.due(9, wake);
  CHECK(woken.empty());
  // Announced through 11: both streams of visitor 7, once each.
  v.due(11, wake);
  std::sort(woken.begin(), woken.end());
  CHECK(woken == std::vector<int>{7, 1000});
  CHECK(v.waiting() == 1);
  woken.clear();
  v.due(20, wake);
  CHECK(woken == std::vector<int>{3});
  CHECK(v.waiting() == 0);

  // A closed stream is never woken again.
  REQUIRE(v.remove(1000));
  CHECK_FALSE(v.remove(1000));
  woken.clear();
  v.committed("web:vis_7", 21);
  v.due(21, wake);
  CHECK(woken == std::vector<int>{7});
  // ... and a conversation whose last stream closed is forgotten.
  REQUIRE(v.remove(7));
  CHECK(v.conversations() == 999);
  v.committed("web:vis_7", 22);
  CHECK(v.waiting() == 0);
}

TEST_CASE("an erasure finds the visitor streams of the erased subjects", "[actors][webchat]") {
  visitor_streams<int, int> v;
  v.add(1, "web:vis_1", "sub_1", 1);
  v.add(2, "web:vis_2", "sub_2", 2);
  v.add(3, "web:vis_1", "sub_1", 3);
  std::vector<int> closed;
  v.of_subjects([](const std::string& s) { return s == "sub_1"; },
                [&](int h) { closed.push_back(h); });
  std::sort(closed.begin(), closed.end());
  CHECK(closed == std::vector<int>{1, 3});
}
