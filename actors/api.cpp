#include "actors/api.hpp"

namespace sb::actors {

void handle_tenant_api(api_call& c) {
  c.reply->answer(error_response(errc::not_found, "no such API call: " + c.op));
}

void handle_root_api(api_call& c) {
  c.reply->answer(error_response(errc::not_found, "no such API call: " + c.op));
}

}  // namespace sb::actors
