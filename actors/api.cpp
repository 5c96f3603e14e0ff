#include "actors/api.hpp"

namespace sb::actors {

void handle_tenant_api(const tenant_api_env& env, api_call& c) {
  if (c.handler.in_tenant == nullptr) {
    c.reply->answer(error_response(errc::not_found, "no such API call for a tenant"));
    return;
  }
  c.handler.in_tenant(env, c);
}

void handle_root_api(root_actor::pointer root, const std::shared_ptr<store::privacy_store>& privacy,
                     const std::shared_ptr<privacy_jobs::job_pool>& jobs, api_call& c) {
  if (c.handler.in_root == nullptr) {
    c.reply->answer(error_response(errc::not_found, "no such API call"));
    return;
  }
  root_api_env env;
  env.self = root;
  env.privacy = privacy;
  env.privacy_jobs = jobs;
  c.handler.in_root(env, c);
}

}  // namespace sb::actors
