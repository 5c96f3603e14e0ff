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

  status put(const tenant_definition& d, const audit_entry& audit) override {
    std::lock_guard lock(mutex_);
    if (auto id = privacy_->audit(audit); !id) {
      return id.err();
    }
    by_tenant_[d.tenant] = d;
    return {};
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
