#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "store/pg/connection.hpp"

namespace sb::store::pg {

/// One replica's connections to its PostgreSQL database (`storage.postgres.pool` of them), shared
/// by the threads of its stores. `take` lends one: an idle one, or a new one while fewer than
/// `size` are open, or the first one given back within `wait`. A connection whose session is
/// gone is closed when given back, so the next `take` connects again. Thread-safe.
class pool : public std::enable_shared_from_this<pool> {
 public:
  /// A connection on loan: given back when destroyed.
  class lease {
   public:
    lease(std::shared_ptr<pool> owner, std::unique_ptr<connection> c)
        : owner_(std::move(owner)), c_(std::move(c)) {}
    lease(lease&&) noexcept = default;
    lease& operator=(lease&&) noexcept = default;
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease() {
      if (owner_ && c_) {
        owner_->give_back(std::move(c_));
      }
    }
    connection& operator*() { return *c_; }
    connection* operator->() { return c_.get(); }

   private:
    std::shared_ptr<pool> owner_;
    std::unique_ptr<connection> c_;
  };

  static std::shared_ptr<pool> make(std::string dsn, std::size_t size,
                                     std::chrono::milliseconds wait = std::chrono::seconds{5}) {
    return std::shared_ptr<pool>(new pool(std::move(dsn), size, wait));
  }

  /// `errc::unavailable` when the server cannot be reached, or when every connection stayed
  /// busy for `wait`.
  result<lease> take();

  /// One statement on a borrowed connection, outside any transaction (`connection::exec`).
  result<rows> exec(const char* sql, std::initializer_list<param> params = {}) {
    auto c = take();
    if (!c) {
      return c.err();
    }
    return (*c)->exec(sql, params);
  }

 private:
  pool(std::string dsn, std::size_t size, std::chrono::milliseconds wait)
      : dsn_(std::move(dsn)), size_(size == 0 ? 1 : size), wait_(wait) {}
  void give_back(std::unique_ptr<connection> c);

  const std::string dsn_;
  const std::size_t size_;
  const std::chrono::milliseconds wait_;
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<connection>> idle_;
  std::size_t open_ = 0;  // idle and lent
};

}  // namespace sb::store::pg
