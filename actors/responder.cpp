// The responder's answer-exactly-once guarantee (actors/gateway.hpp).
#include <utility>

#include "actors/gateway.hpp"

namespace sb::actors {

responder::~responder() {
  if (!done_.load(std::memory_order_acquire)) {
    answer(error_response(errc::unavailable, "the request could not be completed; retry", 1));
  }
}

void responder::answer(http_response r) {
  bool expected = false;
  if (done_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
    cb_(std::move(r));
  }
}

}  // namespace sb::actors
