#include "actors/api.hpp"

#include "actors/consent_api.hpp"
#include "actors/outbound_api.hpp"
#include "actors/privacy_api.hpp"
#include "actors/quarantine_api.hpp"

namespace sb::actors {

void handle_tenant_api(const tenant_api_env& env, api_call& c) {
  if (c.op == "subject.export") {
    export_subject(env, c);
  } else if (c.op == "subject.erase") {
    erase_subject(env, c);
  } else if (c.op == "subject.consent") {
    put_consent(env, c);
  } else if (c.op == "subject.restrict") {
    restrict_subject(env, c);
  } else if (c.op == "audit.list") {
    list_audit(env, c);
  } else if (c.op == "meta.data_deletion") {
    meta_data_deletion(env, c);
  } else if (c.op == "message.send") {
    send_message(env, c);
  } else if (c.op == "message.get") {
    get_message(env, c);
  } else if (c.op == "quarantine.list") {
    list_quarantine(env, c);
  } else if (c.op == "quarantine.get") {
    get_quarantined(env, c);
  } else if (c.op == "quarantine.reingest") {
    reingest_quarantined(env, c);
  } else if (c.op == "quarantine.purge") {
    purge_quarantined(env, c);
  } else if (c.op == "quarantine.purge_channel") {
    purge_quarantine_of_channel(env, c);
  } else if (c.op == "subscriber.enable") {
    enable_subscriber(env, c);
  } else {
    c.reply->answer(error_response(errc::not_found, "no such API call: " + c.op));
  }
}

void handle_root_api(caf::event_based_actor* root,
                     const std::shared_ptr<store::privacy_store>& privacy,
                     const std::shared_ptr<privacy_jobs::job_pool>& jobs, api_call& c) {
  if (c.op == "deletion.status") {
    deletion_status(privacy, jobs, c);
  } else {
    c.reply->answer(error_response(errc::not_found, "no such API call: " + c.op));
  }
}

}  // namespace sb::actors
