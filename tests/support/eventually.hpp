#pragma once

// Bounded polling for tests that wait for something another thread or process does: the bound
// is generous and only ends a test that would otherwise hang; it is never a timing assertion.

#include <chrono>
#include <thread>

namespace sb::test {

/// True as soon as `pred()` holds, checked every 10 ms; false when it still does not after
/// `deadline`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds deadline = std::chrono::seconds{20}) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return pred();
}

}  // namespace sb::test
