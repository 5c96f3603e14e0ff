#include "actors/visitor_stream.hpp"

#include <algorithm>

#include "actors/visitor_stream_logic.hpp"
#include "core/log.hpp"

// Names live in their own namespace, not an anonymous one: this file shares a unity group with
// stream.cpp, whose anonymous helpers have the same names.
namespace sb::actors::visitor_stream_impl {

// Events of the subject examined per read (each read is one page of the subject index).
constexpr std::size_t k_batch = 256;
// A read that takes longer ends the stream (the widget reconnects with Last-Event-ID).
constexpr std::chrono::seconds k_read_timeout{30};

struct state {
  std::shared_ptr<store::privacy_store> ps;
  history_reader_actor history;
  std::shared_ptr<const privacy::consent_registry> consents;
  tenant_actor tenant;
  stream_request req;
  std::uint64_t cursor = 0;
  std::uint64_t announced = 0;  ///< what the tenant said may be read
  bool in_flight = false;
  static inline const char* name = "visitor_stream";
};

using ptr = stream_actor::stateful_pointer<state>;

bool revoked(ptr self) {
  auto& st = self->state;
  return st.consents && st.consents->revoked(st.req.tenant, st.req.subject);
}

void pump(ptr self);

/// Writes what a read found (or reads on when a run of other events was skipped).
void deliver(ptr self, visitor_page& p) {
  auto& st = self->state;
  const bool progressed = p.next > st.cursor;
  st.cursor = std::max(st.cursor, p.next);
  if (p.items.empty()) {
    if (progressed && st.cursor < st.announced) {
      self->send(self, pump_atom::value);
    }
    return;
  }
  sse_batch batch;
  batch.reserve(p.items.size());
  visitor_receipt receipt;
  for (auto& item : p.items) {
    if (item.agent && !item.id.empty()) {
      receipt.message_ids.push_back(std::move(item.id));
    }
    batch.push_back(std::move(item.frame));
  }
  std::function<void()> on_written;
  auto me = caf::actor_cast<stream_actor>(self);
  if (receipt.message_ids.empty()) {
    on_written = [me] { caf::anon_send(me, written_atom::value); };
  } else {
    receipt.channel = st.req.channel;
    receipt.conversation = st.req.conversation;
    receipt.visitor = st.req.visitor;
    receipt.state = "delivered";
    // Sent once the bytes are on the socket: "delivered" means the visitor's connection took
    // them, not that they were read from the store.
    on_written = [me, tenant = st.tenant, receipt = std::move(receipt)]() mutable {
      caf::anon_send(tenant, visitor_atom::value, std::move(receipt));
      caf::anon_send(me, written_atom::value);
    };
  }
  st.in_flight = true;
  if (!st.req.sink->write(std::move(batch), std::move(on_written))) {
    self->quit();
  }
}

void pump(ptr self) {
  auto& st = self->state;
  if (st.in_flight || st.cursor >= st.announced) {
    return;
  }
  if (revoked(self)) {
    self->quit();  // erased meanwhile: nothing more of it is shown
    return;
  }
  st.in_flight = true;
  // The read and the rendering run on the catch-up reader's thread; the page comes back with
  // its (empty) answer, which CAF delivers after the task ran.
  auto page = std::make_shared<visitor_page>();
  history_task t;
  t.run = [page, ps = st.ps, tenant = st.req.tenant, subject = st.req.subject,
           conversation = st.req.conversation, after = st.cursor,
           upto = st.announced](store::event_log&) {
    *page = read_visitor_page(*ps, tenant, subject, conversation, after, upto, k_batch);
  };
  self->request(st.history, k_read_timeout, task_atom::value, std::move(t))
      .then(
          [self, page]() {
            self->state.in_flight = false;
            if (page->failed) {
              log::warn("stream", "visitor stream read failed for tenant ",
                        self->state.req.tenant, ": ", page->error);
              self->quit();
              return;
            }
            deliver(self, *page);
          },
          [self](caf::error& err) {
            log::warn("stream", "visitor stream read for tenant ", self->state.req.tenant,
                      " did not finish: ", caf::to_string(err));
            self->quit();
          });
}

stream_actor::behavior_type behavior(ptr self, std::shared_ptr<store::privacy_store> ps,
                                     stream_request req, tenant_actor tenant,
                                     std::shared_ptr<const privacy::consent_registry> consents,
                                     history_reader_actor history) {
  auto& st = self->state;
  st.ps = std::move(ps);
  st.history = std::move(history);
  st.consents = std::move(consents);
  st.tenant = tenant;
  st.cursor = req.after;
  st.req = std::move(req);
  // Whatever ends the stream (client gone, erasure, shutdown, tenant down) closes the
  // connection.
  self->attach_functor([sink = st.req.sink](const caf::error&) { sink->close(); });
  self->monitor(tenant);
  self->set_down_handler([=](caf::down_msg&) { self->quit(); });
  // The tenant answers with the announced head (reading starts then), and from then on wakes
  // this stream only for its conversation's commits.
  self->send(tenant, register_atom::value, visitor_atom::value, st.req.conversation,
             st.req.subject, caf::actor_cast<stream_actor>(self));
  return {
      [=](pump_atom) { pump(self); },
      [=](head_atom, std::uint64_t head) {
        auto& st = self->state;
        st.announced = std::max(st.announced, head);
        pump(self);
      },
      [=](written_atom) {
        self->state.in_flight = false;
        pump(self);
      },
  };
}

}  // namespace sb::actors::visitor_stream_impl

namespace sb::actors {

stream_actor spawn_visitor_stream(caf::actor_system& sys, std::shared_ptr<store::privacy_store> ps,
                                  stream_request req, tenant_actor tenant,
                                  std::shared_ptr<const privacy::consent_registry> consents,
                                  history_reader_actor history) {
  return sys.spawn(visitor_stream_impl::behavior, std::move(ps), std::move(req),
                   std::move(tenant), std::move(consents), std::move(history));
}

}  // namespace sb::actors
