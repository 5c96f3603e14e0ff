#include "actors/actors.hpp"
#include "actors/api_handlers.hpp"

namespace sb::actors {

void start_visitor_session(const tenant_api_env& env, api_call& c) {
  (void)env;
  c.reply->answer(error_response(errc::unavailable, "not built yet"));
}

void visitor_read(const tenant_api_env& env, api_call& c) {
  (void)env;
  c.reply->answer(error_response(errc::unavailable, "not built yet"));
}

}  // namespace sb::actors
