// The memory store's `definition_store`: a map under a lock, audited into the memory privacy
// store. Lost on restart, as everything of the memory store is.
#include <map>
#include <mutex>
#include <utility>

#include "store/definitions.hpp"

namespace sb::store {

namespace {

class memory_definitions final : public definition_store {
 public:
  explicit memory_definitions(std::shared_ptr<privacy_store> privacy)
      : privacy_(std::move(privacy)) {}

  result<std::vector<tenant_definition>> load_all() override {
    std::lock_guard lock(mutex_);
    std::vector<tenant_definition> out;
    out.reserve(by_tenant_.size());
    for (const auto& [id, d] : by_tenant_) {
      out.push_back(d);
    }
    return out;
  }

  status put(const tenant_definition& d, const audit_entry& audit,
             std::optional<std::int64_t> replaces) override {
    std::lock_guard lock(mutex_);
    auto it = by_tenant_.find(d.tenant);
    const bool current = replaces ? it != by_tenant_.end() && it->second.updated_at_ms == *replaces
                                  : it == by_tenant_.end();
    if (!current) {
      return error{errc::conflict, stale_definition(d.tenant)};
    }
    if (auto id = privacy_->audit(audit); !id) {
      return id.err();
    }
    by_tenant_[d.tenant] = d;
    return {};
  }

  result<std::vector<std::string>> insert_absent(
      const std::vector<std::pair<tenant_definition, audit_entry>>& items) override {
    std::lock_guard lock(mutex_);
    std::vector<std::string> stored;
    for (const auto& [d, audit] : items) {
      if (by_tenant_.count(d.tenant) != 0) {
        continue;
      }
      if (auto id = privacy_->audit(audit); !id) {
        return id.err();
      }
      by_tenant_[d.tenant] = d;
      stored.push_back(d.tenant);
    }
    return stored;
  }

  status remove(const std::string& tenant, const audit_entry& audit) override {
    std::lock_guard lock(mutex_);
    if (auto id = privacy_->audit(audit); !id) {
      return id.err();
    }
    by_tenant_.erase(tenant);
    return {};
  }

 private:
  std::mutex mutex_;
  std::map<std::string, tenant_definition> by_tenant_;
  const std::shared_ptr<privacy_store> privacy_;
};

}  // namespace

std::shared_ptr<definition_store> make_memory_definitions(std::shared_ptr<privacy_store> privacy) {
  return std::make_shared<memory_definitions>(std::move(privacy));
}

}  // namespace sb::store
