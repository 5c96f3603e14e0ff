#include "adapters/hubspot/hubspot.hpp"

namespace sb::adapters::hubspot {

adapter_info info() {
  adapter_info i;
  i.type = "hubspot";
  i.display_name = "HubSpot";
  i.schema.type = "hubspot";
  return i;
}

}  // namespace sb::adapters::hubspot
